/**
 * Merging a remote's branch into ours, file by file and key by key (merge3).
 * A conflict — the same value changed differently on both sides, or changed on
 * one and deleted on the other, or a merged file that breaks its schema or the
 * secret guard — is resolved by the strategy, and the losing value is kept in a
 * conflict record committed with the merge (`.gitstate/conflicts.yaml`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConflictError, UsageError } from '../errors.js';
import { STATE_EXTENSIONS } from '../base/paths.js';
import type { StateRepo, WriteResult } from '../core/repo.js';
import type { GitStore } from '../git/store.js';
import { mergeBase } from '../git/ancestry.js';
import { HistoryIndex } from '../history/index-file.js';
import { merge3, MISSING, type Side } from '../merge/merge3.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import { textWithValue } from '../yaml/onto.js';

export type Strategy = 'newest' | 'ours' | 'theirs' | 'manual';
export const STRATEGIES: readonly Strategy[] = ['newest', 'ours', 'theirs', 'manual'];
export const SYNC_SETTINGS = '.gitstate/sync.yaml';
export const CONFLICTS_FILE = '.gitstate/conflicts.yaml';

export interface SyncSettings {
  /** Sync in the background after writes (see auto.ts). */
  auto?: boolean;
  auto_delay_ms?: number;
  strategy?: Strategy;
  /** Per-file strategy: `environments.yaml: theirs`. */
  rules?: Record<string, Strategy>;
  /** Identity field per list, per file: `current_work.yaml: {open_mrs: id}`. */
  identity?: Record<string, Record<string, string>>;
}

export interface SideInfo {
  value: unknown;
  commit: string;
  host?: string;
  time: string;
}

export interface ConflictRecord {
  time: string;
  file: string;
  key: string;
  strategy: Strategy;
  kept: 'ours' | 'theirs';
  ours: SideInfo;
  theirs: SideInfo;
}

export async function loadSyncSettings(dir: string): Promise<SyncSettings> {
  try {
    const settings = (parse(await readFile(join(dir, SYNC_SETTINGS), 'utf8')) ?? {}) as SyncSettings;
    for (const s of [settings.strategy, ...Object.values(settings.rules ?? {})]) {
      if (s !== undefined && !STRATEGIES.includes(s)) throw new UsageError(`${SYNC_SETTINGS}: unknown strategy "${s}" (use ${STRATEGIES.join(', ')})`);
    }
    return settings;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

/**
 * Merge `theirs` into HEAD as a merge commit. With the manual strategy, any
 * conflict leaves the repository as it was and throws a ConflictError (exit 4).
 */
export async function mergeBranch(repo: StateRepo, ours: string, theirs: string, strategy: Strategy | undefined, remote: string): Promise<WriteResult & { conflicts: ConflictRecord[] }> {
  const store = await repo.store();
  const settings = await loadSyncSettings(repo.dir);
  const base = await mergeBase(store, ours, theirs);
  const index = new HistoryIndex(store);
  await index.update(ours);
  await index.update(theirs);
  const baseTree = base ? await store.treeOf(base) : null;
  const oursChanged = await index.changedPaths(baseTree, await store.treeOf(ours));
  const theirsChanged = await index.changedPaths(baseTree, await store.treeOf(theirs));
  const checks = await repo.checks();
  const now = new Date().toISOString();
  const files: Array<{ path: string; content: Uint8Array | null }> = [];
  const conflicts: ConflictRecord[] = [];
  const manual: string[] = [];

  for (const [path, theirBlob] of Object.entries(theirsChanged)) {
    if (path === CONFLICTS_FILE) continue; // merged below, with this merge's own records
    if (!(path in oursChanged)) {
      files.push({ path, content: theirBlob ? await store.readBlob(theirBlob) : null });
      continue;
    }
    if (oursChanged[path] === theirBlob) continue;
    const fileStrategy = settings.rules?.[path] ?? strategy ?? settings.strategy ?? 'newest';
    const sides = await sideInfo(index, path, base ?? null, ours, theirs);
    const pick = (): 'ours' | 'theirs' => (fileStrategy === 'theirs' || (fileStrategy === 'newest' && sides.theirs.time > sides.ours.time) ? 'theirs' : 'ours');
    const text = async (blob: string | null | undefined) => (blob ? decodeText(await store.readBlob(blob), path) : null);
    const [baseText, ourText, theirText] = [await text(base ? await store.blobOidAt(base, path) : null), await text(oursChanged[path]), await text(theirBlob)];
    const record = (key: string, o: Side, t: Side, kept: 'ours' | 'theirs') =>
      conflicts.push({
        time: now,
        file: path,
        key,
        strategy: fileStrategy,
        kept,
        ours: { value: o === MISSING ? null : o, commit: sides.ours.commit, host: sides.ours.host, time: sides.ours.time },
        theirs: { value: t === MISSING ? null : t, commit: sides.theirs.commit, host: sides.theirs.host, time: sides.theirs.time },
      });

    let merged: string | null;
    if (STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
      const value = (t: string | null): Side => (t === null ? MISSING : getValue(parseStateText(t, path), []));
      const result = merge3(value(baseText), value(ourText), value(theirText), { identity: settings.identity?.[path], resolve: pick });
      for (const c of result.conflicts) record(c.path, c.ours, c.theirs, c.resolution);
      if (result.conflicts.length > 0 && fileStrategy === 'manual') manual.push(...result.conflicts.map((c) => `${path}: ${c.path}`));
      merged = result.value === MISSING ? null : renderOnto(path, ourText ?? theirText, result.value);
      // A merged file that breaks its schema or the secret guard is a conflict too: the winning side's file is kept whole.
      if (merged !== null) {
        const problem = await firstFailure(path, merged, checks);
        if (problem) {
          const kept = pick();
          record('(whole file)', ourText ?? MISSING, theirText ?? MISSING, kept);
          if (fileStrategy === 'manual') manual.push(`${path}: ${problem}`);
          merged = kept === 'ours' ? ourText : theirText;
        }
      }
    } else {
      const kept = pick();
      record('(whole file)', ourText ?? MISSING, theirText ?? MISSING, kept);
      if (fileStrategy === 'manual') manual.push(path);
      merged = kept === 'ours' ? ourText : theirText;
    }
    files.push({ path, content: merged === null ? null : Buffer.from(merged) });
  }
  if (manual.length > 0) throw new ConflictError(`merge of ${remote} left for you: ${manual.join(', ')} (nothing written; choose --strategy ours|theirs|newest)`, { conflicts: manual });

  const recorded = await conflictsFile(store, ours, theirs, base ?? null, conflicts);
  if (recorded) files.push(recorded);
  const result = await repo.commitFiles(
    files,
    { op: 'sync-merge', subject: `merge ${remote}/main${conflicts.length ? `: ${conflicts.length} conflict(s) resolved, losing values kept in ${CONFLICTS_FILE}` : ''}` },
    { otherParents: [theirs] },
  );
  return { ...result, conflicts };
}

/** The conflict records of both sides, plus this merge's. */
async function conflictsFile(store: GitStore, ours: string, theirs: string, base: string | null, added: ConflictRecord[]) {
  const read = async (commit: string | null): Promise<ConflictRecord[]> => {
    const blob = commit ? await store.blobOidAt(commit, CONFLICTS_FILE) : null;
    if (!blob) return [];
    const doc = parse(decodeText(await store.readBlob(blob), CONFLICTS_FILE)) as { conflicts?: ConflictRecord[] } | null;
    return doc?.conflicts ?? [];
  };
  const [b, o, t] = [await read(base), await read(ours), await read(theirs)];
  const key = (r: ConflictRecord) => JSON.stringify(r);
  const known = new Set(o.map(key));
  const all = [...o, ...t.filter((r) => !known.has(key(r)) && !b.some((x) => key(x) === key(r))), ...added];
  if (all.length === o.length) return null;
  const header = '# Values that lost a sync conflict, kept so none is dropped. Resolve by hand and delete entries as you like.\n';
  return { path: CONFLICTS_FILE, content: Buffer.from(header + stringify({ conflicts: all }, { lineWidth: 0 })) };
}

/** The newest commit on each side (since the merge base) that changed `path`: its time and host. */
async function sideInfo(index: HistoryIndex, path: string, base: string | null, ours: string, theirs: string) {
  const stop = new Set<string>();
  if (base) for (const r of index.walk(base)) stop.add(r.c);
  const find = (tip: string): SideInfo => {
    for (const r of index.walk(tip)) {
      if (stop.has(r.c)) break;
      if (path in r.f) return { value: undefined, commit: r.c, host: r.host, time: new Date(r.t * 1000).toISOString() };
    }
    return { value: undefined, commit: tip, time: new Date(0).toISOString() };
  };
  return { ours: find(ours), theirs: find(theirs) };
}

function renderOnto(path: string, text: string | null, value: unknown): string {
  return textWithValue(path, text, value);
}

async function firstFailure(path: string, text: string, checks: ReadonlyArray<(p: string, v: unknown) => void | Promise<void>>): Promise<string | null> {
  try {
    const value = getValue(parseStateText(text, path), []);
    for (const check of checks) await check(path, value);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
