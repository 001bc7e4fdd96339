/**
 * pull, push and sync. sync = fetch, then fast-forward or merge, then push; a
 * push rejected because the remote moved meanwhile is answered by fetching and
 * merging again, a bounded number of times. Never a force push, never a
 * rewrite of published history. The outcome of the last sync (and its error)
 * is kept in `.git/gitstate/sync.json` for `status`: local, never synced.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BranchMovedError, UsageError } from '../errors.js';
import type { StateRepo } from '../core/repo.js';
import { commitBeforeSync } from '../core/hand-edits.js';
import { isAncestor } from '../git/ancestry.js';
import { HistoryIndex } from '../history/index-file.js';
import { mergeBranch, type ConflictRecord, type Strategy } from './merge.js';
import { fetchBranch, pushBranch, PushRejectedError, redact, type TransferOptions } from './transport.js';

export interface SyncOptions extends TransferOptions {
  remote?: string;
  strategy?: Strategy;
  /** Fetch-and-merge rounds after a rejected push (default 3). */
  retries?: number;
}

export interface SyncResult {
  remote: string;
  /** What happened to our branch. */
  action: 'up-to-date' | 'fast-forward' | 'merged' | 'pushed-only';
  head: string | null;
  pushed: boolean;
  conflicts: ConflictRecord[];
}

export interface SyncStatus {
  remote: string | null;
  ahead: number;
  behind: number;
  lastSync: string | null;
  lastError: string | null;
}

export async function remoteUrl(repo: StateRepo, remote: string): Promise<string> {
  const store = await repo.store();
  const url = await store.getConfig(`remote.${remote}.url`);
  if (!url) throw new UsageError(`no remote named "${remote}"; add one with "gitstate remote add ${remote} URL"`);
  return url;
}

/** Fetch and merge (or fast-forward); nothing is pushed. */
export async function pull(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  return record(repo, () => pullOnce(repo, options.remote ?? 'origin', options));
}

/** Push our branch. Rejected when the remote has commits we don't: run sync. */
export async function push(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  const remote = options.remote ?? 'origin';
  return record(repo, async () => {
    await pushBranch(repo, remote, await remoteUrl(repo, remote), options);
    return { remote, action: 'pushed-only', head: await (await repo.store()).headOid(), pushed: true, conflicts: [] };
  });
}

export async function sync(repo: StateRepo, options: SyncOptions = {}): Promise<SyncResult> {
  const remote = options.remote ?? 'origin';
  const retries = options.retries ?? 3;
  return record(repo, async () => {
    const url = await remoteUrl(repo, remote);
    // hand edits are committed first (checked like any write), so they are synced too
    await commitBeforeSync(repo);
    const conflicts: ConflictRecord[] = [];
    for (let attempt = 0; ; attempt++) {
      const pulled = await pullOnce(repo, remote, options);
      conflicts.push(...pulled.conflicts);
      const store = await repo.store();
      const head = await store.headOid();
      const theirs = await remoteTip(repo, remote);
      if (head === null || head === theirs) return { ...pulled, conflicts, pushed: false };
      try {
        await pushBranch(repo, remote, url, options);
        return { ...pulled, conflicts, head, pushed: true };
      } catch (err) {
        if (!(err instanceof PushRejectedError) || attempt >= retries) throw err;
      }
    }
  });
}

async function pullOnce(repo: StateRepo, remote: string, options: SyncOptions, attempt = 0): Promise<SyncResult> {
  const url = await remoteUrl(repo, remote);
  const theirs = await fetchBranch(repo, remote, url, options);
  const store = await repo.store();
  if (!theirs || theirs === (await store.headOid())) return { remote, action: 'up-to-date', head: await store.headOid(), pushed: false, conflicts: [] };
  const seen = await keepUncommitted(repo, theirs);
  const ours = await store.headOid();
  // Both questions at once: each is a git process (or a walk) of its own.
  const [containsTheirs, fastForward] = ours ? await Promise.all([isAncestor(store, theirs, ours), isAncestor(store, ours, theirs)]) : [false, true];
  if (containsTheirs) return { remote, action: 'up-to-date', head: ours, pushed: false, conflicts: [] };
  if (fastForward || !ours) {
    // keepUncommitted diffed this very pair already, unless it committed hand edits first
    const changed = seen && seen.ours === ours ? seen.changed : await new HistoryIndex(store).changedPaths(ours ? await store.treeOf(ours) : null, await store.treeOf(theirs));
    try {
      await repo.advance(ours, theirs, changed);
    } catch (err) {
      // a write got in since we looked: look again (it is no longer a fast-forward)
      if (err instanceof BranchMovedError && attempt < 3) return pullOnce(repo, remote, options, attempt + 1);
      throw err;
    }
    return { remote, action: 'fast-forward', head: theirs, pushed: false, conflicts: [] };
  }
  const merged = await mergeBranch(repo, ours, theirs, options.strategy, remote);
  return { remote, action: 'merged', head: merged.commit, pushed: false, conflicts: merged.conflicts };
}

/**
 * Files the remote changes that were edited here by hand and never committed are
 * committed first (checked like any write), so a fast-forward or merge cannot
 * overwrite them: they take part in the merge instead. Returns the paths that
 * differ between HEAD and `theirs`, with the HEAD they were diffed from.
 */
async function keepUncommitted(repo: StateRepo, theirs: string): Promise<{ ours: string; changed: Record<string, string | null> } | null> {
  const store = await repo.store();
  const ours = await store.headOid();
  if (!ours) return null;
  const changed = await new HistoryIndex(store).changedPaths(await store.treeOf(ours), await store.treeOf(theirs));
  const files: Array<{ path: string; content: Uint8Array | null }> = [];
  for (const path of Object.keys(changed)) {
    const disk = await readFile(join(repo.dir, path)).catch(() => null);
    const atHead = await store.blobOidAt(ours, path);
    if ((disk ? await store.hashBlob(disk) : null) !== atHead) files.push({ path, content: disk });
  }
  if (files.length > 0) {
    await repo.commitFiles(files, { op: 'recover', subject: `recover uncommitted changes to ${files.map((f) => f.path).join(', ')} before merging the remote` });
  }
  return { ours, changed };
}

async function remoteTip(repo: StateRepo, remote: string): Promise<string | null> {
  const store = await repo.store();
  try {
    return await store.resolveRef(`refs/remotes/${remote}/main`);
  } catch {
    return null;
  }
}

/** Ahead/behind against the last fetched state of the remote, and the last sync's outcome. */
export async function syncStatus(repo: StateRepo, remote = 'origin'): Promise<SyncStatus> {
  const store = await repo.store();
  const saved = await readSaved(repo);
  const hasRemote = Boolean(await store.getConfig(`remote.${remote}.url`));
  const ours = await store.headOid();
  const theirs = await remoteTip(repo, remote);
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
async function record(repo: StateRepo, fn: () => Promise<SyncResult>): Promise<SyncResult> {
  const saved = await readSaved(repo);
  const save = async (next: Saved) => {
    await mkdir(join(repo.gitdir, 'gitstate'), { recursive: true });
    await writeFile(join(repo.gitdir, 'gitstate', 'sync.json'), JSON.stringify({ ...saved, ...next }));
  };
  try {
    const result = await fn();
    await save({ lastSync: new Date().toISOString(), lastError: null });
    return result;
  } catch (err) {
    await save({ lastError: `${new Date().toISOString()} ${redact((err as Error).message)}` });
    throw err;
  }
}
