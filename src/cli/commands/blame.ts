import type { Command } from 'commander';
import { who } from '../history-output.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('blame')
    .description('the commit (id, date, host, subject) that last changed the value at a key path (--json: the whole record)')
    .argument('<file>', 'state file')
    .argument('<key>', 'key path')
    .action(async (file: string, key: string, _opts, command: Command) => {
      const options = globals(command);
      const { History } = await import('../../history/history.js');
      const e = await new History(await openRepo(options)).blame(file, key);
      if (options.json) return printJson(e);
      print(`${e.commit.slice(0, 7)} ${e.date.replace('T', ' ').slice(0, 16)} ${who(e)} ${e.subject}`);
    });
  examples(cmd, ['gitstate blame current_work "active_issues[key=AAP-1].status"']);
}
