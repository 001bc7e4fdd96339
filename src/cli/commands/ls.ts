import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('ls')
    .description('list the state files')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const files = await (await openRepo(options)).list();
      if (options.json) printJson(files);
      else if (files.length > 0) print(files.join('\n'));
    });
  examples(cmd, ['gitstate ls', 'gitstate ls --json']);
}
