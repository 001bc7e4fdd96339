import type { Command } from 'commander';
import { examples, globals, openRepo, printWrite } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('flush')
    .description('commit state.json as it is on disk, if it differs from HEAD (written by another tool, or left unflushed)')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const { flushStateFile } = await import('../../state/commands.js');
      printWrite(await flushStateFile(await openRepo(options)), options);
    });
  examples(cmd, ['gitstate flush', 'gitstate flush --json']);
}
