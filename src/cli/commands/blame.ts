import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('blame')
    .description('the commit (id, date, host, op) that last changed the value at a key path')
    .argument('<file>', 'state file')
    .argument('<key>', 'key path')
    .action(async (file: string, key: string, _opts, command: Command) => {
      const options = globals(command);
      const { History } = await import('../../history/history.js');
      const e = await new History(await openRepo(options)).blame(file, key);
      if (options.json) return printJson(e);
      print(`${e.commit} ${e.date} ${e.host ?? '-'} ${e.op ?? '-'} ${e.subject}`);
    });
  examples(cmd, ['gitstate blame current_work "active_issues[key=AAP-1].status"']);
}
