import type { Command } from 'commander';
import type { ProgressEvent } from '../../git/http.js';
import { UsageError } from '../../errors.js';
import { examples, globals, openRepo, print, printJson, repoOptions, stateDir, type GlobalOptions } from '../run.js';

interface SyncFlags {
  remote?: string;
  strategy?: string;
  timeout?: string;
}

/** Options shared by clone, pull, push and sync. */
function transferOptions(command: Command): Command {
  return command
    .option('--remote <name>', 'the remote (default origin)')
    .option('--timeout <ms>', 'give up on a silent remote after this long (default $GITSTATE_SYNC_TIMEOUT_MS, else 30000)');
}

async function parseFlags(flags: SyncFlags, options: GlobalOptions) {
  const { STRATEGIES } = await import('../../sync/merge.js');
  if (flags.strategy && !(STRATEGIES as readonly string[]).includes(flags.strategy)) {
    throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${flags.strategy}"`);
  }
  const timeout = Number(flags.timeout ?? process.env.GITSTATE_SYNC_TIMEOUT_MS ?? 30_000);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout needs a number of milliseconds, got "${flags.timeout}"`);
  return {
    remote: flags.remote,
    strategy: flags.strategy as import('../../sync/merge.js').Strategy | undefined,
    timeoutMs: timeout,
    onProgress: progress(options),
  };
}

/** Phase and object counts on a terminal; nothing with --quiet or --json. */
function progress(options: GlobalOptions): ((e: ProgressEvent) => void) | undefined {
  if (options.quiet || options.json || !process.stderr.isTTY) return undefined;
  return (e) => process.stderr.write(`\r${e.phase}: ${e.loaded}${e.total ? `/${e.total}` : ''}   `);
}

function report(result: import('../../sync/sync.js').SyncResult, options: GlobalOptions): void {
  if (process.stderr.isTTY && !options.quiet && !options.json) process.stderr.write('\n');
  if (options.json) return printJson(result);
  const lines = [`${result.action}${result.pushed ? ', pushed' : ''} (${result.remote}) at ${result.head?.slice(0, 12) ?? '(no commits)'}`];
  for (const c of result.conflicts) lines.push(`conflict ${c.file} ${c.key}: kept ${c.kept} (${c.strategy}); the other value is in .gitstate/conflicts.yaml`);
  if (!options.quiet) print(lines.join('\n'));
}

export function register(program: Command): void {
  const clone = transferOptions(
    program.command('clone').description('clone a remote state repo into the state dir (an empty remote is seeded)').argument('<url>', 'remote URL'),
  ).action(async (url: string, flags: SyncFlags, command: Command) => {
    const options = globals(command);
    const { cloneRepo } = await import('../../sync/remote.js');
    const repo = await cloneRepo(url, stateDir(options), { ...repoOptions(options), ...(await parseFlags(flags, options)) });
    if (options.json) return printJson({ dir: repo.dir, head: await (await repo.store()).headOid() });
    if (!options.quiet) print(`cloned into ${repo.dir}`);
  });
  examples(clone, ['GITSTATE_TOKEN=... gitstate clone https://github.com/me/state.git', 'gitstate --dir ~/state clone git@github.com:me/state.git']);

  for (const [name, description] of [
    ['pull', 'fetch and merge (or fast-forward) the remote; nothing is pushed'],
    ['push', 'push this repo (never forced; rejected if the remote moved: run sync)'],
    ['sync', 'fetch, merge, push; a rejected push is answered by fetching and merging again'],
  ] as const) {
    let cmd = transferOptions(program.command(name).description(description));
    if (name !== 'push') cmd = cmd.option('--strategy <strategy>', 'how conflicts resolve: newest (default), ours, theirs, manual (exit 4, nothing written)');
    if (name === 'sync') cmd = cmd.option('--auto', 'the background auto-sync: wait for writes to be quiet, then sync (started by writes)');
    cmd.action(async (flags: SyncFlags & { auto?: boolean }, command: Command) => {
      const options = globals(command);
      if (flags.auto) {
        const { runAutoSync } = await import('../../sync/auto.js');
        return runAutoSync(await openRepo(options));
      }
      const sync = await import('../../sync/sync.js');
      report(await sync[name](await openRepo(options), await parseFlags(flags, options)), options);
    });
    examples(cmd, [`gitstate ${name}`, `gitstate ${name} --remote backup --json`]);
  }

  const conflicts = program
    .command('conflicts')
    .description('list the conflict records: values that lost a sync merge, with both sides')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const repo = await openRepo(options);
      const { CONFLICTS_FILE } = await import('../../sync/merge.js');
      const records = ((await repo.get(CONFLICTS_FILE).catch(() => ({}))) as { conflicts?: Array<Record<string, unknown>> }).conflicts ?? [];
      if (options.json) return printJson(records);
      if (records.length === 0 && !options.quiet) print('no conflict records: no sync merge has had to pick between two values');
      for (const r of records as Array<{ time: string; file: string; key: string; kept: string; ours: { value: unknown; host?: string }; theirs: { value: unknown; host?: string } }>) {
        print(`${r.time} ${r.file} ${r.key}: kept ${r.kept}; ours (${r.ours.host ?? '?'}) ${JSON.stringify(r.ours.value)}, theirs (${r.theirs.host ?? '?'}) ${JSON.stringify(r.theirs.value)}`);
      }
    });
  examples(conflicts, ['gitstate conflicts', 'gitstate conflicts --json']);
}
