import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, parseCliValue, printWrite } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(mutationOptions(
    program
      .command('append')
      .description('append an item to the list at a key path (a missing list is created) -> one commit')
      .argument('<file>', 'state file, .yaml optional')
      .argument('<key>', 'key path of the list')
      .argument('<value>', 'item, parsed as YAML')
      .option('--string', 'store VALUE as a string, without YAML parsing'),
  )).action(async (file: string, key: string, value: string, opts: { string?: boolean; message?: string } & ProjectOptions, command: Command) => {
    const options = globals(command);
    const repo = await openRepo(options);
    printWrite(await repo.append(routed(repo, file, opts), key, parseCliValue(value, opts.string), { message: opts.message }), options);
  });
  examples(cmd, [
    'gitstate append current_work active_issues "{key: AAP-12345, summary: Fix login, status: In Progress}"',
    'gitstate append knowledge facts "the staging DB is reset nightly" --string',
  ]);
}
