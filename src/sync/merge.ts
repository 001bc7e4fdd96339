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
import { ConflictError, SchemaError, YamlError } from '../errors.js';
import type { Strategy } from '../merge/strategy.js';
import { STATE_EXTENSIONS } from '../base/paths.js';
import type { StateRepo, WriteResult } from '../core/repo.js';
import type { GitStore } from '../git/store.js';
import { mergeBase } from '../git/ancestry.js';
import type { Segment } from '../base/keypath.js';
import { newer, WriteFinder, type Write } from './newest.js';
import { findSecrets, findSecretsInFile, redactedValue, secretRuleAt } from './secrets.js';
import { HistoryIndex } from '../history/index-file.js';
import { merge3, MISSING, type Side } from '../merge/merge3.js';
import { decodeText, MAX_FILE_BYTES, parseStateText } from '../yaml/document.js';
import { foldCase, storeReader, type ParentReader } from '../security/guard.js';
import { getValue } from '../yaml/edit.js';
import { textWithValue } from '../yaml/onto.js';

export { STRATEGIES, type Strategy } from '../merge/strategy.js';
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
  /** The side's value; null where it has none (then `deleted`). */
  value: unknown;
  /** This side removed the value (a key, a record, the whole file): a null value it set has no `deleted`. */
  deleted?: true;
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

/**
 * `.gitstate/sync.yaml`, checked against its schema (a file committed natively or pulled may not
 * have been, when written): a bad one is a SchemaError naming the key, which a sync records.
 */
export async function loadSyncSettings(dir: string): Promise<SyncSettings> {
  const settings = await readSyncSettings(dir);
  const { validateContent } = await import('../schema/validate.js');
  try {
    await validateContent(SYNC_SETTINGS, settings);
  } catch (err) {
    if (err instanceof SchemaError) err.message += `; fix it with gitstate write ${SYNC_SETTINGS}`;
    throw err;
  }
  return settings ?? {};
}

/** The settings as written, unchecked (what a write looks at to start auto-sync: `auto: true` and nothing else). */
export async function readSyncSettings(dir: string): Promise<SyncSettings> {
  try {
    return (parse(await readFile(join(dir, SYNC_SETTINGS), 'utf8')) ?? {}) as SyncSettings;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

/**
 * Merge `theirs` into HEAD as a merge commit. With the manual strategy, any
 * conflict leaves the repository as it was and throws a ConflictError (exit 4).
 * The merge is one commit through the write path, made only on `ours`
 * (BranchMovedError when a write got in meanwhile: merge again). The secret
 * guard lets through a secret one of the parents already holds (someone
 * else's secret never blocks a sync) and refuses anything new.
 */
export async function mergeBranch(
  repo: StateRepo,
  ours: string,
  theirs: string,
  strategy: Strategy | undefined,
  remote: string,
  label = `${remote}/main`,
  /** The merge base, when the caller asked git for it already. */
  knownBase?: string | null,
): Promise<WriteResult & { conflicts: ConflictRecord[]; changes: Record<string, string | null> }> {
  const store = await repo.store();
  const settings = await loadSyncSettings(repo.dir);
  const base = knownBase !== undefined ? knownBase : await mergeBase(store, ours, theirs);
  const index = new HistoryIndex(store);
  // The history is read only for a file both sides changed (who wrote each value, for `newest` and the records): a pull of 1,000 commits costs a git log of them.
  let indexed: Promise<void> | null = null;
  const history = () => (indexed ??= index.update(ours).then(() => index.update(theirs)));
  const [oursChanged, theirsChanged] = await Promise.all([index.changedBetween(base, ours), index.changedBetween(base, theirs)]);
  await store.preloadBlobs(Object.values(theirsChanged).filter((blob): blob is string => blob !== null));
  const checks = await repo.checks();
  const now = new Date();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const files: Array<{ path: string; content: Uint8Array | null }> = [];
  const conflicts: ConflictRecord[] = [];
  // folder listings at ours, for the case check of each file only they added (many, on a big pull): read once each
  const reader = storeReader(store);
  const listed = new Map<string, Promise<string[] | null>>();
  const parents: Pick<ParentReader, 'list'> = { list: (commit, dir) => (listed.get(`${commit}:${dir}`) ?? listed.set(`${commit}:${dir}`, reader.list(commit, dir)).get(`${commit}:${dir}`))! };
  const manual: string[] = [];

  for (const [path, theirBlob] of Object.entries(theirsChanged)) {
    if (path === CONFLICTS_FILE) continue; // merged below, with this merge's own records
    if (!(path in oursChanged)) {
      const clash = theirBlob && !(await store.blobOidAt(ours, path)) ? await caseClash(parents, ours, path) : null;
      if (clash) {
        // a new file whose name differs from one of ours only in case would be one file on macOS and
        // Windows: ours stays, theirs is kept in a record, as a write of that name is refused
        await history();
        const write = await new WriteFinder(store, index, path).introduced(theirs, null);
        const info = { commit: write.commit, host: write.host, time: new Date(write.time * 1000).toISOString() };
        const content = decodeText(await store.readBlob(theirBlob!), path);
        conflicts.push({ time: now.toISOString(), file: path, key: `(whole file: its name differs from ${clash} only in case)`, strategy: strategy ?? settings.strategy ?? 'newest', kept: 'ours', ours: { value: null, commit: ours, time: now.toISOString() }, theirs: { value: await storable(repo.dir, path, null, content, write.commit), ...info } });
        continue;
      }
      files.push({ path, content: theirBlob ? await store.readBlob(theirBlob) : null });
      continue;
    }
    if (oursChanged[path] === theirBlob) continue;
    // what the command line asks for, else the file's rule, else the repository's strategy
    const fileStrategy = strategy ?? settings.rules?.[path] ?? settings.strategy ?? 'newest';
    const writes = new WriteFinder(store, index, path);
    const sidesAt = async (segments: readonly Segment[] | null) => {
      await history();
      return { ours: await writes.introduced(ours, segments), theirs: await writes.introduced(theirs, segments) };
    };
    const decide = async (sides: { ours: Write; theirs: Write }): Promise<'ours' | 'theirs'> =>
      fileStrategy === 'theirs' ? 'theirs' : fileStrategy === 'newest' ? newer(store, sides.ours, sides.theirs, nowSeconds) : 'ours';
    const text = async (blob: string | null | undefined) => (blob ? decodeText(await store.readBlob(blob), path) : null);
    const [baseText, ourText, theirText] = [await text(base ? await store.blobOidAt(base, path) : null), await text(oursChanged[path]), await text(theirBlob)];
    const record = async (key: string, segments: readonly Segment[] | null, o: Side, t: Side, kept: 'ours' | 'theirs', sides: { ours: Write; theirs: Write }) => {
      const info = async (value: Side, write: Write): Promise<SideInfo> => ({
        ...(value === MISSING ? { value: null, deleted: true as const } : { value: await storable(repo.dir, path, segments, value, write.commit) }),
        commit: write.commit,
        host: write.host,
        time: new Date(write.time * 1000).toISOString(),
      });
      conflicts.push({ time: now.toISOString(), file: path, key, strategy: fileStrategy, kept, ours: await info(o, sides.ours), theirs: await info(t, sides.theirs) });
    };
    const wholeFile = async () => {
      const sides = await sidesAt(null);
      const kept = await decide(sides);
      await record('(whole file)', null, ourText ?? MISSING, theirText ?? MISSING, kept, sides);
      return kept;
    };

    let merged: string | null;
    if (STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
      /** The side's value; a text that does not parse is `broken` (its parse error), never a merge's input. */
      const value = (t: string | null, where: string): { side: Side } | { broken: string } => {
        try {
          return { side: t === null ? MISSING : getValue(parseStateText(t, path, where), []) };
        } catch (err) {
          if (err instanceof YamlError) return { broken: err.message };
          throw err;
        }
      };
      const base3 = value(baseText, `${path} at the merge base`);
      const ours3 = value(ourText, `${path} at HEAD`);
      const theirs3 = value(theirText, `${path} as ${label} has it (commit ${theirs.slice(0, 12)})`);
      if ('broken' in ours3 || 'broken' in theirs3) {
        // A side whose file does not parse is never the merge's: the other side's file is kept whole
        // (ours when both are broken), the broken one goes into a conflict record, and the sync goes on.
        const kept = 'broken' in theirs3 ? 'ours' : 'theirs';
        const why = 'broken' in theirs3 ? theirs3.broken : (ours3 as { broken: string }).broken;
        await record(`(whole file: ${kept === 'ours' ? 'theirs' : 'ours'} does not parse)`, null, ourText ?? MISSING, theirText ?? MISSING, kept, await sidesAt(null));
        if (fileStrategy === 'manual') manual.push(`${path}: ${why}`);
        const keptText = kept === 'ours' ? ourText : theirText;
        files.push({ path, content: keptText === null ? null : Buffer.from(keptText) });
        continue;
      }
      // a merge base that does not parse gives no base: each side's values are its own then
      const [b, o, t] = ['side' in base3 ? base3.side : MISSING, ours3.side, theirs3.side];
      const identity = settings.identity?.[path];
      // First pass finds the conflicts; each is decided (newest looks up both writes), then the merge is made with those decisions.
      const found = merge3(b, o, t, { identity }).conflicts;
      const decided = new Map<string, { kept: 'ours' | 'theirs'; sides: { ours: Write; theirs: Write } }>();
      for (const c of found) {
        const sides = await sidesAt(c.segments);
        decided.set(c.path, { kept: await decide(sides), sides });
      }
      const result = merge3(b, o, t, { identity, resolve: (c) => decided.get(c.path)?.kept ?? 'ours' });
      for (const c of result.conflicts) await record(c.path, c.segments, c.ours, c.theirs, c.resolution, decided.get(c.path)?.sides ?? (await sidesAt(c.segments)));
      if (result.conflicts.length > 0 && fileStrategy === 'manual') manual.push(...result.conflicts.map((c) => `${path}: ${c.path}`));
      merged = result.value === MISSING ? null : renderOnto(path, ourText ?? theirText, result.value);
      // A merged file that breaks its schema or the secret guard is a conflict too: the winning side's file is kept whole.
      if (merged !== null && merged !== ourText && merged !== theirText) {
        const problem = await firstFailure(repo.dir, path, merged, [ourText, theirText], checks);
        if (problem) {
          const kept = await wholeFile();
          if (fileStrategy === 'manual') manual.push(`${path}: ${problem}`);
          merged = kept === 'ours' ? ourText : theirText;
        }
      }
    } else {
      const kept = await wholeFile();
      if (fileStrategy === 'manual') manual.push(path);
      merged = kept === 'ours' ? ourText : theirText;
    }
    files.push({ path, content: merged === null ? null : Buffer.from(merged) });
  }
  if (manual.length > 0) throw new ConflictError(`merge of ${label} left for you: ${manual.join(', ')} (nothing written; choose --strategy ours|theirs|newest)`, { conflicts: manual });

  const recorded = await conflictsFile(store, ours, base ?? null, theirsChanged, conflicts);
  if (recorded) files.push(recorded);
  const subject = `merge ${label}${conflicts.length ? `: ${conflicts.length} conflict(s) resolved, losing values kept in ${CONFLICTS_FILE}` : ''}`;
  // One commit through the write path: the guard lets through a secret the other parent already holds.
  const result = await repo.commitFiles(files, { op: 'sync-merge', subject }, { otherParents: [theirs], expectedHead: ours });
  // what the merge commit changed, path -> blob (null: removed), without diffing it again
  const written = new Set(result.files);
  const changes = Object.fromEntries(files.filter((f) => written.has(f.path)).map((f) => [f.path, f.content ? store.hashBlob(f.content) : null]));
  return { ...result, conflicts, changes };
}

/** A conflict record's value, or a redacted marker with the commit that holds it when the value fails the secret guard. */
async function storable(dir: string, file: string, segments: readonly Segment[] | null, value: unknown, commit: string): Promise<unknown> {
  const rule = segments === null ? ((await findSecretsInFile(dir, file, Buffer.from(String(value))))[0]?.rule ?? null) : await secretRuleAt(dir, file, segments, value);
  if (rule) return redactedValue(rule, commit);
  // a big value is named by the commit that has it: records pile up, and the file must stay one a write may make
  const size = Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
  if (size > RECORD_VALUE_MAX) return { omitted: `a value of ${size} bytes, too large to keep here; see it in commit ${commit} (gitstate show ${commit.slice(0, 12)}:${file})`, commit };
  return value;
}

/** The path at `commit` that `path` differs from only in case (a folder or the file), or null. */
async function caseClash(parents: Pick<ParentReader, 'list'>, commit: string, path: string): Promise<string | null> {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const names = await parents.list(commit, parts.slice(0, i).join('/'));
    if (!names || names.includes(parts[i]!)) {
      if (!names) return null; // a new folder: nothing below it to collide with
      continue;
    }
    const clash = names.find((n) => foldCase(n) === foldCase(parts[i]!));
    if (clash !== undefined) return [...parts.slice(0, i), clash].join('/');
  }
  return null;
}

/** Largest value a conflict record holds itself (larger ones are named by their commit). */
const RECORD_VALUE_MAX = 4 * 1024;
/** The record file stays this far under the size limit of a state file. */
const RECORDS_MAX = MAX_FILE_BYTES - 64 * 1024;

/**
 * The conflict records of both sides, plus this merge's. Their side's file is
 * read only when their commits changed it (from the diff already made: their
 * trees, in a fetched pack, are not read again).
 */
async function conflictsFile(store: GitStore, ours: string, base: string | null, theirsChanged: Record<string, string | null>, added: ConflictRecord[]) {
  const read = async (blob: string | null): Promise<ConflictRecord[]> => {
    if (!blob) return [];
    const doc = parse(decodeText(await store.readBlob(blob), CONFLICTS_FILE)) as { conflicts?: ConflictRecord[] } | null;
    return doc?.conflicts ?? [];
  };
  const theirsChangedIt = CONFLICTS_FILE in theirsChanged;
  const o = await read(await store.blobOidAt(ours, CONFLICTS_FILE));
  const t = theirsChangedIt ? await read(theirsChanged[CONFLICTS_FILE]!) : [];
  const b = theirsChangedIt && base ? await read(await store.blobOidAt(base, CONFLICTS_FILE)) : [];
  const key = (r: ConflictRecord) => JSON.stringify(r);
  const known = new Set([...o, ...b].map(key));
  const all = [...o, ...t.filter((r) => !known.has(key(r))), ...added];
  if (all.length === o.length) return null;
  const header = '# Values that lost a sync conflict, kept so none is dropped. Resolve by hand and delete entries as you like.\n';
  let content = Buffer.from(header + stringify({ conflicts: all }, { lineWidth: 0 }));
  // over the size a state file may have, the oldest records go first (the file's history keeps them):
  // a full record file must never stop a sync
  while (content.byteLength > RECORDS_MAX && all.length > added.length) {
    all.splice(0, Math.max(1, Math.ceil((all.length - added.length) / 10)));
    content = Buffer.from(`${header}# Older records: gitstate log ${CONFLICTS_FILE}\n${stringify({ conflicts: all }, { lineWidth: 0 })}`);
  }
  return { path: CONFLICTS_FILE, content };
}

function renderOnto(path: string, text: string | null, value: unknown): string {
  return textWithValue(path, text, value);
}

/**
 * Why merged content may not be committed, or null. Secrets that either side's
 * version already holds (same key path, same rule) do not count: they are
 * someone else's, already in the history, and reported by the sync instead.
 */
async function firstFailure(dir: string, path: string, text: string, sides: Array<string | null>, checks: ReadonlyArray<(p: string, v: unknown) => void | Promise<void>>): Promise<string | null> {
  let value: unknown;
  try {
    value = getValue(parseStateText(text, path), []);
    for (const check of checks) await check(path, value);
    return null;
  } catch (err) {
    if ((err as { code?: string }).code !== 'SECRET') return (err as Error).message;
  }
  const held = new Set<string>();
  for (const side of sides) if (side !== null) for (const f of await findSecretsInFile(dir, path, Buffer.from(side))) held.add(`${f.key}\0${f.rule}`);
  const fresh = (await findSecrets(dir, path, value)).filter((f) => !held.has(`${f.key}\0${f.rule}`));
  return fresh.length > 0 ? `${path}: ${fresh[0]!.key}: looks like a secret (rule ${fresh[0]!.rule})` : null;
}
