import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, printWrite } from '../run.js';

export function register(program: Command): void {
  const cmd = mutationOptions(
    program
      .command('rollback')
      .description("make a file's content at a revision a new commit (validated like any write)")
      .argument('<file>', 'state file')
      .requiredOption('--to <rev>', 'the revision to take the content from'),
  ).action(async (file: string, opts: { to: string; message?: string }, command: Command) => {
    const options = globals(command);
    const { History } = await import('../../history/history.js');
    printWrite(await new History(await openRepo(options)).rollback(file, opts.to, { message: opts.message }), options);
  });
  examples(cmd, ['gitstate rollback current_work --to HEAD~2', 'gitstate rollback environments --to 1a2b3c4 -m "bad deploy record"']);
}
