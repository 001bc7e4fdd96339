import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const hooks = program.command('hooks').description('git hooks for the state repository');
  const install = hooks
    .command('install')
    .description('install the pre-commit and commit-msg hooks: hand-made commits are checked like gitstate writes')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const { installHooks } = await import('../../hooks/install.js');
      const installed = await installHooks((await openRepo(options)).gitdir);
      if (options.json) return printJson({ installed });
      print(installed ? 'installed .git/hooks/pre-commit and commit-msg' : 'hooks already installed');
    });
  examples(install, ['gitstate hooks install']);
}
