import type { Command } from 'commander';
import type { ProgressEvent } from '../../git/http.js';
import { UsageError } from '../../errors.js';
import { examples, globals, openRepo, print, printJson, repoOptions, stateDir, writeErr, type GlobalOptions } from '../run.js';

interface SyncFlags {
  remote?: string;
  strategy?: string;
  timeout?: string;
  allowUnrelated?: boolean;
  branch?: string;
}

/** Options shared by clone, pull, push and sync. */
function transferOptions(command: Command): Command {
  return command
    .option('--remote <name>', 'the remote (default origin)')
    .option('--timeout <ms>', 'give up on a silent remote after this long (default $GITSTATE_SYNC_TIMEOUT_MS, else 30000)');
}

async function parseFlags(flags: SyncFlags, options: GlobalOptions) {
  const { STRATEGIES } = await import('../../merge/strategy.js');
  if (flags.strategy && !(STRATEGIES as readonly string[]).includes(flags.strategy)) {
    throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${flags.strategy}"`);
  }
  const timeout = Number(flags.timeout ?? process.env.GITSTATE_SYNC_TIMEOUT_MS ?? 30_000);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout needs a number of milliseconds, got "${flags.timeout}"`);
  return {
    remote: flags.remote,
    strategy: flags.strategy as import('../../merge/strategy.js').Strategy | undefined,
    timeoutMs: timeout,
    allowUnrelated: flags.allowUnrelated,
    onProgress: progress(options),
  };
}

/** Whether a progress line is open on stderr (the next output starts a new line first). */
let progressOpen = false;

/** Phase and object counts on a terminal, on one line rewritten in place; nothing with --quiet or --json. */
function progress(options: GlobalOptions): ((e: ProgressEvent) => void) | undefined {
  if (options.quiet || options.json || !process.stderr.isTTY) return undefined;
  return (e) => {
    writeErr(`\r${e.phase}: ${e.loaded}${e.total ? `/${e.total}` : ''}   `);
    progressOpen = true;
  };
}

function endProgress(): void {
  if (progressOpen) writeErr('\n');
  progressOpen = false;
}

/** One line saying what happened to this repository and to the remote, then conflicts and arrived secrets. */
export function describe(result: import('../../sync/sync.js').SyncResult, command: 'pull' | 'push' | 'sync'): string[] {
  const at = result.head?.slice(0, 12) ?? '(no commits)';
  const r = result.remote;
  let line: string;
  if (command === 'push') line = result.pushed ? `pushed to ${r}${result.remoteWasEmpty ? ' (it was empty)' : ''} at ${at}` : `nothing to push: ${r} is at ${at} already`;
  else if (result.action === 'merged') line = `merged ${r} at ${at}${result.pushed ? ', pushed' : command === 'pull' ? ' (not pushed: run sync)' : ''}`;
  else if (result.action === 'fast-forward') line = `fast-forwarded to ${r} at ${at}`;
  else if (result.pushed) line = `pushed to ${r}${result.remoteWasEmpty ? ' (it was empty)' : ''} at ${at}`;
  else if (result.remoteWasEmpty) line = `${r} is empty; nothing to pull${command === 'pull' ? ' (run sync or push to fill it)' : ''}`;
  else line = `up to date with ${r} at ${at}`;
  const lines = [line];
  for (const c of result.conflicts) lines.push(`conflict ${c.file} ${c.key}: kept ${c.kept} (${c.strategy}); the other value is in .gitstate/conflicts.yaml`);
  for (const s of result.secrets) lines.push(`warning: commit ${s.commit.slice(0, 12)} from ${r} put what looks like a secret in ${s.file} at ${s.key} (rule ${s.rule}); it was synced, not committed by this machine: remove it and rotate the credential`);
  return lines;
}

function report(result: import('../../sync/sync.js').SyncResult, command: 'pull' | 'push' | 'sync', options: GlobalOptions): void {
  endProgress();
  if (options.json) return printJson(result);
  const lines = describe(result, command);
  if (!options.quiet) print(lines.join('\n'));
  else for (const line of lines.filter((l) => l.startsWith('warning:'))) writeErr(`${line}\n`);
}

export function register(program: Command): void {
  const clone = transferOptions(
    program
      .command('clone')
      .description('clone a remote state repo into the state dir (an empty remote is seeded); a failed clone leaves nothing behind')
      .argument('<url>', 'remote URL')
      .option('--branch <name>', "the remote's branch to track (default main; the local branch is always main)"),
  ).action(async (url: string, flags: SyncFlags, command: Command) => {
    const options = globals(command);
    const { cloneRepo } = await import('../../sync/remote.js');
    try {
      const warnings: string[] = [];
      const onWarning = (why: string) => warnings.push(why);
      const repo = await cloneRepo(url, stateDir(options), { ...repoOptions(options), ...(await parseFlags(flags, options)), branch: flags.branch, onWarning });
      endProgress();
      if (options.json) return printJson({ dir: repo.dir, head: await (await repo.store()).headOid(), warnings });
      if (!options.quiet) print([`cloned into ${repo.dir}`, ...warnings.map((why) => `warning: ${why}`)].join('\n'));
    } finally {
      endProgress();
    }
  });
  examples(clone, ['GITSTATE_TOKEN=... gitstate clone https://github.com/me/state.git', 'gitstate --dir ~/state clone git@github.com:me/state.git']);

  for (const [name, description] of [
    ['pull', 'fetch and merge (or fast-forward) the remote; nothing is pushed'],
    ['push', 'push this repo (never forced; rejected if the remote moved: run sync)'],
    ['sync', 'fetch, merge, push; a rejected push is answered by fetching and merging again'],
  ] as const) {
    let cmd = transferOptions(program.command(name).description(description));
    if (name !== 'push') cmd = cmd.option('--strategy <strategy>', 'how conflicts resolve: newest (default), ours, theirs, manual (exit 4, nothing written)');
    if (name !== 'push') cmd = cmd.option('--allow-unrelated', "merge a remote whose history shares no commit with this repository's (refused otherwise, exit 4)");
    if (name === 'sync') cmd = cmd.option('--auto', 'the background auto-sync: wait for writes to be quiet, then sync (started by writes)');
    cmd.action(async (flags: SyncFlags & { auto?: boolean }, command: Command) => {
      const options = globals(command);
      if (flags.auto) {
        const { runAutoSync } = await import('../../sync/auto.js');
        return runAutoSync(await openRepo(options));
      }
      const sync = await import('../../sync/sync.js');
      try {
        report(await sync[name](await openRepo(options), await parseFlags(flags, options)), name, options);
      } finally {
        endProgress();
      }
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
      type Side = { value: unknown; deleted?: boolean; host?: string };
      const side = (s: Side) => `(${s.host ?? '?'}) ${s.deleted ? 'deleted it' : JSON.stringify(s.value)}`;
      for (const r of records as Array<{ time: string; file: string; key: string; kept: string; ours: Side; theirs: Side }>) {
        print(`${r.time} ${r.file} ${r.key}: kept ${r.kept}; ours ${side(r.ours)}, theirs ${side(r.theirs)}`);
      }
    });
  examples(conflicts, ['gitstate conflicts', 'gitstate conflicts --json']);
}
