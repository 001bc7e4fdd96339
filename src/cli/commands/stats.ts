import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('stats')
    .description('what the memory holds and how the repo is doing: files and bytes per folder, commits, session logs, newest writes, sync, conflicts, health')
    .option('--fsck', 'also run a full git fsck (reads every object)')
    .action(async (opts: { fsck?: boolean }, command: Command) => {
      const options = globals(command);
      const { repoStats, renderStats } = await import('../../status/stats.js');
      const stats = await repoStats(await openRepo(options), { fsck: opts.fsck });
      if (options.json) return printJson(stats);
      print(renderStats(stats));
    });
  examples(cmd, ['gitstate stats', 'gitstate stats --json', 'gitstate stats --fsck']);
}
