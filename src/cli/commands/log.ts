import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatLogLine } from '../history-output.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('log')
    .description('commits that touched the repo, a file, or the value at a key path (with its old and new value)')
    .argument('[file]', 'state file, .yaml optional')
    .option('--key <keypath>', 'only commits that changed this value (needs FILE)')
    .option('-n, --max-count <n>', 'at most N commits')
    .option('--since <date>', 'only commits at or after this time: 2026-11-01, "2026-11-01 14:30", yesterday, "2 days ago", 1h')
    .action(async (file: string | undefined, opts: { key?: string; maxCount?: string; since?: string }, command: Command) => {
      const options = globals(command);
      const limit = opts.maxCount === undefined ? undefined : Number(opts.maxCount);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new UsageError(`-n needs a whole number, got "${opts.maxCount}"`);
      if (opts.key !== undefined && file === undefined) throw new UsageError('--key needs a FILE (gitstate log FILE --key KEY)');
      const { parseDate } = await import('../../history/dates.js');
      const since = opts.since === undefined ? undefined : parseDate(opts.since, '--since');
      const { History } = await import('../../history/history.js');
      const entries = await new History(await openRepo(options)).log({ file, key: opts.key, limit, since });
      if (options.json) return printJson(entries);
      if (entries.length > 0) print(entries.map(formatLogLine).join('\n'));
    });
  examples(cmd, [
    'gitstate log -n 10',
    'gitstate log current_work --since 2026-11-01',
    'gitstate log --since yesterday',
    'gitstate log current_work --key "active_issues[key=AAP-1].status"',
  ]);
}
