import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, printWrite } from '../run.js';

export function register(program: Command): void {
  const revert = mutationOptions(
    program
      .command('revert')
      .description("undo exactly one commit's changes, key by key, as a new commit (exit 4 if a key changed again since)")
      .argument('<commit>', 'the commit to undo')
      .option('--force', 'on a conflict, take the reverted value anyway'),
  ).action(async (rev: string, opts: { force?: boolean; message?: string }, command: Command) => {
    const options = globals(command);
    const { History } = await import('../../history/history.js');
    printWrite(await new History(await openRepo(options)).revert(rev, opts), options);
  });
  examples(revert, ['gitstate revert 1a2b3c4', 'gitstate revert HEAD~2 --force']);

  const undo = mutationOptions(
    program
      .command('undo')
      .description('revert the newest commit not yet undone (as a new commit); repeated, it steps further back; never the first commit (exit 4)')
      .option('--force', 'on a conflict, take the reverted value anyway'),
  ).action(async (opts: { force?: boolean; message?: string }, command: Command) => {
    const options = globals(command);
    const { History } = await import('../../history/history.js');
    printWrite(await new History(await openRepo(options)).undo(opts), options);
  });
  examples(undo, ['gitstate undo']);
}
