import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, printWrite } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(mutationOptions(
    program
      .command('delete')
      .description('remove the value at a key path, or the whole file when no key is given -> one commit')
      .argument('<file>', 'state file, .yaml optional')
      .argument('[key]', 'key path; omit it to delete the file'),
  )).action(async (file: string, key: string | undefined, opts: { message?: string } & ProjectOptions, command: Command) => {
    const options = globals(command);
    const repo = await openRepo(options);
    printWrite(await repo.delete(routed(repo, file, opts), key, { message: opts.message }), options);
  });
  examples(cmd, ['gitstate delete current_work "active_issues[key=AAP-12345]"', 'gitstate delete notes/today']);
}
