/**
 * pull, push and sync. sync = fetch, then fast-forward or merge, then push; a
 * push rejected because the remote moved meanwhile is answered by fetching and
 * merging again, a bounded number of times. Never a force push, never a
 * rewrite of published history, never a merge of an unrelated history unless
 * asked. The outcome of the last sync (and its error) is kept in
 * `.git/gitstate/sync.json` for `status`: local, never synced.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BranchMovedError, GitstateError, messageOf, SyncError, UsageError } from '../errors.js';
import { systemClock, type Clock } from '../base/clock.js';
import { inTurn } from '../base/in-turn.js';
import type { StateRepo } from '../core/repo.js';
import { isAncestor, mergeBase } from '../git/ancestry.js';
import { readConfig } from '../git/config.js';
import type { GitStore } from '../git/store.js';
import { UnrelatedHistoryError } from './errors.js';
import type { ConflictRecord } from './merge.js';
import type { ArrivedSecret } from './secrets.js';
import type { Strategy } from '../merge/strategy.js';
import { BRANCH, fetchBranch, pushBranch, PushRejectedError, redact, redactText, trackingRef, type RemoteTarget, type TransferOptions } from './transport.js';

export interface SyncOptions extends TransferOptions {
  remote?: string;
  strategy?: Strategy;
  /** Fetch-and-merge rounds after a rejected push (default 5). */
  retries?: number;
  /** Waits between those rounds (tests pass their own). */
  clock?: Clock;
  /** Picks each wait within its bound, in [0, 1) (tests pass their own). */
  random?: () => number;
  /** Merge a remote whose history shares no commit with ours (refused otherwise, exit 4). */
  allowUnrelated?: boolean;
  /** A branch named with --branch that the remote does not have yet is made by the push (default; clone: an error). */
  startBranch?: boolean;
}

export interface SyncResult {
  remote: string;
  /** What happened to our branch. */
  action: 'up-to-date' | 'fast-forward' | 'merged' | 'pushed-only';
  head: string | null;
  /** Whether the remote's branch moved (a push that found it up to date did not). */
  pushed: boolean;
  /** The remote had no commits before this operation. */
  remoteWasEmpty: boolean;
  conflicts: ConflictRecord[];
  /** Secrets that came in with the remote's commits: reported, never the value. */
  secrets: ArrivedSecret[];
}

export interface SyncStatus {
  remote: string | null;
  ahead: number;
  behind: number;
  lastSync: string | null;
  lastError: string | null;
}

/** The config key naming the remote branch a remote's main tracks (default main). */
export function branchKey(remote: string): string {
  return `gitstate.${remote}.branch`;
}

export async function remoteTarget(repo: StateRepo, remote: string): Promise<RemoteTarget> {
  // read from the config file itself: the fetch starts before the store and the merge are loaded
  const url = readConfig(repo.gitdir, `remote.${remote}.url`);
  if (!url) throw new UsageError(`no remote named "${remote}"; add one with "gitstate remote add ${remote} URL"`);
  const named = readConfig(repo.gitdir, branchKey(remote));
  return { remote, url, branch: named || BRANCH, named: Boolean(named) };
}

/**
 * Modules a sync loads when it needs them (hand edits, the history, the
 * structural merge, the secret scan), not when this module is: a CLI call
 * starts git's fetch before evaluating them, and they load while it fetches.
 */
const afterFetch = {
  handEdits: () => import('../core/hand-edits.js'),
  history: async () => (await import('../history/index-file.js')).HistoryIndex,
  merge: () => import('./merge.js'),
  secrets: () => import('./secrets.js'),
  files: () => import('../base/files.js'),
};

export async function remoteUrl(repo: StateRepo, remote: string): Promise<string> {
  return (await remoteTarget(repo, remote)).url;
}

/** Fetch and merge (or fast-forward); nothing is pushed. */
export async function pull(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  return record(repo, async () => pullOnce(repo, await remoteTarget(repo, options.remote ?? 'origin'), options));
}

/** Push our branch. Rejected when the remote has commits we don't: run sync. */
export async function push(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  return record(repo, async () => {
    const target = await remoteTarget(repo, options.remote ?? 'origin');
    const store = await repo.store();
    const before = await store.resolveRef(trackingRef(target));
    const { pushed } = await pushBranch(repo, target, options);
    return { remote: target.remote, action: 'pushed-only', head: await store.headOid(), pushed, remoteWasEmpty: before === null && pushed, conflicts: [], secrets: [] };
  });
}

/** The first wait after a rejected push is up to this long; each next one up to twice the last, to RETRY_WAIT_CAP_MS. */
const RETRY_WAIT_MS = 200;
const RETRY_WAIT_CAP_MS = 3_200;

/**
 * How long to wait before fetching again after the `attempt`th rejected push (0 first):
 * a random time up to a bound that doubles. Machines whose pushes crossed would
 * otherwise fetch, merge and push again in step, and one of them lose every round.
 */
export function retryWait(attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(RETRY_WAIT_CAP_MS, RETRY_WAIT_MS * 2 ** attempt));
}

export async function sync(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  const retries = options.retries ?? 5;
  const { clock = systemClock, random = Math.random } = options;
  return record(repo, async () => {
    const target = await remoteTarget(repo, options.remote ?? 'origin');
    // hand edits are committed first (checked like any write), so they are synced too; one refused stops the sync before it fetches
    await (await afterFetch.handEdits()).commitBeforeSync(repo);
    const conflicts: ConflictRecord[] = [];
    const secrets: ArrivedSecret[] = [];
    let remoteWasEmpty: boolean | null = null;
    try {
      for (let attempt = 0; ; attempt++) {
        const pulled = await pullOnce(repo, target, options, { mayMerge: true });
        remoteWasEmpty ??= pulled.remoteWasEmpty;
        conflicts.push(...pulled.conflicts);
        secrets.push(...pulled.secrets);
        const store = await repo.store();
        const head = await store.headOid();
        const theirs = await store.resolveRef(trackingRef(target));
        const done = { ...pulled, conflicts, secrets, remoteWasEmpty };
        if (head === null || head === theirs) return { ...done, pushed: false };
        try {
          const { pushed } = await pushBranch(repo, target, options);
          return { ...done, head, pushed };
        } catch (err) {
          if (!(err instanceof PushRejectedError)) throw err;
          if (attempt >= retries) {
            err.message += ` (gave up after ${attempt + 1} rejected push${attempt === 0 ? '' : 'es'}: the remote kept moving; run sync again)`;
            throw err;
          }
          await clock.sleep(retryWait(attempt, random));
        }
      }
    } catch (err) {
      // whatever failed after a merge (a push, a retry's fetch) carries what the merge settled
      throw withMergeReport(err, target.remote, conflicts, secrets);
    }
  });
}

/**
 * A push that failed after this sync merged: what the merge settled goes with
 * the error, in its message and its data, or nobody would hear of a conflict it
 * resolved, or a secret that came in, until they looked. (The merge commit
 * stays, with its records in .gitstate/conflicts.yaml; the next sync pushes it.)
 */
function withMergeReport(err: unknown, remote: string, conflicts: ConflictRecord[], secrets: ArrivedSecret[]): unknown {
  if (conflicts.length === 0 && secrets.length === 0) return err;
  // ours keep their code; anything else becomes SYNC (exit 1 either way), its stack kept as the cause
  const error = err instanceof GitstateError ? err : Object.assign(new SyncError(messageOf(err)), { cause: err });
  const told: string[] = [];
  const listed = <T>(items: T[], say: (item: T) => string) => items.slice(0, 5).map(say).join(', ') + (items.length > 5 ? ` and ${items.length - 5} more` : '');
  if (conflicts.length > 0) {
    const each = listed(conflicts, (c) => `${c.file} ${c.key} kept ${c.kept} (${c.strategy})`);
    told.push(`before it, this sync merged ${remote} and resolved ${conflicts.length === 1 ? 'a conflict' : `${conflicts.length} conflicts`}: ${each}; the other values are in .gitstate/conflicts.yaml`);
  }
  if (secrets.length > 0) {
    const each = listed(secrets, (f) => `${f.file} at ${f.key} (rule ${f.rule}, commit ${f.commit.slice(0, 12)})`);
    told.push(`warning: commits from ${remote} put what looks like a secret in ${each}: remove it and rotate the credential`);
  }
  error.message += `; ${told.join('; ')}`;
  Object.assign(error.data, { conflicts, secrets });
  return error;
}

/** `mayMerge`: a sync, which usually has commits of its own to merge (its modules load during the fetch). */
async function pullOnce(repo: StateRepo, target: RemoteTarget, options: SyncOptions, { mayMerge = false, attempt = 0 } = {}): Promise<SyncResult> {
  const { remote } = target;
  const fetching = fetchBranch(repo, target, { ...options, startBranch: target.named === true && options.startBranch !== false });
  // What follows the fetch is loaded while git fetches (once git has started: a macrotask later);
  // for a sync, also the structural merge and the schema validator (zod takes ~15 ms to load).
  setImmediate(() => {
    const modules: Array<Promise<unknown>> = [repo.store(), afterFetch.history(), afterFetch.secrets(), afterFetch.files(), import('../core/writer.js')];
    if (mayMerge) modules.push(afterFetch.merge(), import('../schema/validate.js'));
    void Promise.all(modules).catch(() => undefined);
  });
  const theirs = await fetching;
  const [store, HistoryIndex] = await Promise.all([repo.store(), afterFetch.history()]);
  const label = `${remote}/${target.branch}`;
  const nothing = { remote, pushed: false, remoteWasEmpty: theirs === null, conflicts: [], secrets: [] };
  if (!theirs || theirs === (await store.headOid())) return { ...nothing, action: 'up-to-date', head: await store.headOid() };
  const current = await store.headOid();
  // what the remote changes is diffed (and its files read: the fast-forward or merge and the secret
  // report read every one) while git finds the merge base
  const diffed = current ? new HistoryIndex(store).changedBetween(current, theirs).then(preload(store)) : null;
  diffed?.catch(() => undefined); // awaited below, unless the histories turn out unrelated
  const base = current ? await mergeBase(store, current, theirs) : null;
  // Refused before anything is written (hand edits included): git refuses this too.
  if (current && !options.allowUnrelated && base === null) {
    throw new UnrelatedHistoryError(
      `${label} (${redact(target.url)}) has a history unrelated to this repository's (no commit in common); nothing was merged. Merge them anyway with --allow-unrelated, or clone the remote into an empty state dir`,
    );
  }
  try {
    const seen = await keepUncommitted(repo, theirs, current && diffed ? { ours: current, changed: diffed } : undefined);
    const ours = await store.headOid();
    // The merge base answers both questions (an ancestor is its own merge base with a descendant), unless hand edits were committed since.
    const [containsTheirs, fastForward] = !ours
      ? [false, true]
      : ours === current
        ? [base === theirs, base === ours]
        : await Promise.all([isAncestor(store, theirs, ours), isAncestor(store, ours, theirs)]);
    if (containsTheirs) return { ...nothing, action: 'up-to-date', head: ours };
    if (fastForward || !ours) {
      // keepUncommitted diffed this very pair already, unless it committed hand edits first
      const changed = seen && seen.ours === ours ? seen.changed : await new HistoryIndex(store).changedBetween(ours, theirs);
      await repo.advance(ours, theirs, changed);
      // scanned once the branch moved: the allow-list the remote brought applies
      return { ...nothing, action: 'fast-forward', head: theirs, secrets: await reportSecrets(repo, ours, theirs, changed) };
    }
    const merged = await (await afterFetch.merge()).mergeBranch(repo, ours, theirs, options.strategy, remote, label, ours === current ? base : undefined);
    return { ...nothing, action: 'merged', head: merged.commit, conflicts: merged.conflicts, secrets: await reportSecrets(repo, ours, theirs, merged.changes) };
  } catch (err) {
    // a write got in since we looked: look again
    if (err instanceof BranchMovedError && attempt < 10) return pullOnce(repo, target, options, { mayMerge, attempt: attempt + 1 });
    throw err;
  }
}

/** Secrets the files a pull changed hold now and did not before, with the incoming commit that added each. */
async function reportSecrets(repo: StateRepo, before: string | null, theirs: string, changed: Record<string, string | null>): Promise<ArrivedSecret[]> {
  const [store, HistoryIndex, { arrivedSecrets }] = await Promise.all([repo.store(), afterFetch.history(), afterFetch.secrets()]);
  const candidates = Object.fromEntries(Object.entries(changed).filter(([, blob]) => blob));
  if (Object.keys(candidates).length === 0) return [];
  // The history is read only when a secret is found: to name the commit that added it.
  const history = async (path: string): Promise<string[]> => {
    const index = new HistoryIndex(store);
    await index.update(theirs);
    const stop = new Set<string>();
    if (before) {
      await index.update(before);
      for (const r of index.walk(before)) stop.add(r.c);
    }
    const commits: string[] = [];
    // theirs' commits that changed the file, newest first, down to what we had
    for (const r of index.walk(theirs)) {
      if (stop.has(r.c)) break;
      if (path in r.f) commits.push(r.c);
    }
    return commits;
  };
  return arrivedSecrets(repo.dir, store, before, theirs, candidates, history);
}

/**
 * Files the remote changes that were edited here by hand and never committed are
 * committed first (checked like any write), so a fast-forward or merge cannot
 * overwrite them: they take part in the merge instead. Returns the paths that
 * differ between HEAD and `theirs`, with the HEAD they were diffed from
 * (`diffed`: that diff, already under way for this HEAD).
 */
async function keepUncommitted(
  repo: StateRepo,
  theirs: string,
  diffed?: { ours: string; changed: Promise<Record<string, string | null>> },
): Promise<{ ours: string; changed: Record<string, string | null> } | null> {
  const [store, HistoryIndex, { readStateBytes }] = await Promise.all([repo.store(), afterFetch.history(), afterFetch.files()]);
  const ours = await store.headOid();
  if (!ours) return null;
  const changed = diffed && diffed.ours === ours ? await diffed.changed : await new HistoryIndex(store).changedBetween(ours, theirs).then(preload(store));
  const files: Array<{ path: string; content: Uint8Array | null }> = [];
  for (const path of Object.keys(changed)) {
    // read as every state file is (a symlink is refused); sync, as each async read costs thread-pool round trips
    const disk = await readStateBytes(repo.dir, path);
    const atHead = await store.blobOidAt(ours, path);
    if ((disk ? store.hashBlob(disk) : null) !== atHead) files.push({ path, content: disk });
  }
  if (files.length > 0) {
    // only on the HEAD the files were compared with: a write that landed since makes this a BranchMovedError, and the pull looks again
    await repo.commitFiles(files, { op: 'recover', subject: `recover uncommitted changes to ${files.map((f) => f.path).join(', ')} before merging the remote` }, { expectedHead: ours });
  }
  return { ours, changed };
}

/** Read the blobs of a diff's changed files (here, or in one git process; see GitStore.preloadBlobs), and pass the diff on. */
function preload(store: GitStore): (changed: Record<string, string | null>) => Promise<Record<string, string | null>> {
  return async (changed) => {
    await store.preloadBlobs(Object.values(changed).filter((blob): blob is string => blob !== null));
    return changed;
  };
}

/** Ahead/behind against the last fetched state of the remote, and the last sync's outcome. */
export async function syncStatus(repo: StateRepo, remote = 'origin'): Promise<SyncStatus> {
  const [store, HistoryIndex] = await Promise.all([repo.store(), afterFetch.history()]);
  const saved = await readSaved(repo);
  const hasRemote = Boolean(await store.getConfig(`remote.${remote}.url`));
  const branch = (await store.getConfig(branchKey(remote))) || BRANCH;
  const ours = await store.headOid();
  const theirs = await store.resolveRef(trackingRef({ remote, branch })).catch(() => null);
  let ahead = 0;
  let behind = 0;
  if (ours && theirs && ours !== theirs) {
    const index = new HistoryIndex(store);
    await index.update(ours);
    await index.update(theirs);
    const mine = new Set([...index.walk(ours)].map((r) => r.c));
    const their = new Set([...index.walk(theirs)].map((r) => r.c));
    ahead = [...mine].filter((c) => !their.has(c)).length;
    behind = [...their].filter((c) => !mine.has(c)).length;
  } else if (ours && !theirs && hasRemote) {
    ahead = [...new HistoryIndex(store).walk(ours)].length;
  }
  return { remote: hasRemote ? remote : null, ahead, behind, lastSync: saved.lastSync ?? null, lastError: saved.lastError ?? null };
}

interface Saved {
  lastSync?: string;
  lastError?: string | null;
}

async function readSaved(repo: StateRepo): Promise<Saved> {
  try {
    return JSON.parse(await readFile(join(repo.gitdir, 'gitstate', 'sync.json'), 'utf8')) as Saved;
  } catch {
    return {};
  }
}

/** Run a sync operation and remember its outcome (time of the last success, or the error). */
/** The transfer under way in this process, by repository: the next waits for it. */
const transfers = new Map<string, Promise<unknown>>();

/**
 * One pull, push or sync at a time per repository in a process (an MCP server
 * given two `memory_sync` calls at once): two fetches into one tracking ref
 * fail on git's ref lock. Other processes are left to git's locks and the retry.
 */
function record(repo: StateRepo, fn: () => Promise<SyncResult>): Promise<SyncResult> {
  return inTurn(transfers, repo.gitdir, () => recorded(repo, fn));
}

async function recorded(repo: StateRepo, fn: () => Promise<SyncResult>): Promise<SyncResult> {
  const running = fn();
  const saved = readSaved(repo); // read while the operation runs (after it has started git)
  const save = async (next: Saved) => {
    await mkdir(join(repo.gitdir, 'gitstate'), { recursive: true });
    await writeFile(join(repo.gitdir, 'gitstate', 'sync.json'), JSON.stringify({ ...(await saved), ...next }));
  };
  try {
    const result = await running;
    await save({ lastSync: new Date().toISOString(), lastError: null });
    return result;
  } catch (err) {
    await save({ lastError: `${new Date().toISOString()} ${redactText((err as Error).message)}` });
    throw err;
  }
}
