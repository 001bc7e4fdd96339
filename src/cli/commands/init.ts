import type { Command } from 'commander';
import { StateRepo } from '../../core/repo.js';
import { examples, globals, print, printJson, repoOptions, stateDir } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('init')
    .description('create the state repository (idempotent: an existing one is left unchanged)')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const repo = await StateRepo.init(stateDir(options), repoOptions(options));
      if (options.json) return printJson({ dir: repo.dir, created: repo.created });
      print(repo.created ? `initialized state repository in ${repo.dir}` : `already initialized: ${repo.dir} (nothing changed)`);
    });
  examples(cmd, ['gitstate init', 'gitstate --dir ~/.gitstate init', 'GITSTATE_DIR=/srv/state gitstate init']);
}
