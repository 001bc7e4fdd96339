import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, printWrite, readStdin } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(mutationOptions(
    program
      .command('write')
      .description('replace a whole file with YAML (or JSON) read from stdin, kept as given -> one commit')
      .argument('<file>', 'state file, .yaml optional'),
  )).action(async (file: string, opts: { message?: string } & ProjectOptions, command: Command) => {
    const options = globals(command);
    const text = await readStdin('write');
    const repo = await openRepo(options);
    printWrite(await repo.write(routed(repo, file, opts), text, { message: opts.message }), options);
  });
  examples(cmd, ['gitstate write notes/today < today.yaml', "printf 'owner: me\\n' | gitstate write projects/backend/meta"]);
}
