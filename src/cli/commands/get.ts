import type { Command } from 'commander';
import { examples, globals, openRepo, printValue } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(program
    .command('get')
    .description('print a value (YAML; with --json, the value alone as JSON)')
    .argument('<file>', 'state file, .yaml optional (current_work, projects/backend/current_work)')
    .argument('[key]', 'key path: a.b, list[0], list.0, list[key=AAP-1].status'))
    .action(async (file: string, key: string | undefined, opts: ProjectOptions, command: Command) => {
      const options = globals(command);
      const repo = await openRepo(options);
      printValue(await repo.get(routed(repo, file, opts), key), options);
    });
  examples(cmd, [
    'gitstate get current_work',
    'gitstate get current_work "active_issues[key=AAP-12345].status"',
    'gitstate get environments dev.namespace --json',
  ]);
}
