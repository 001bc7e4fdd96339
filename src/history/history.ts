/**
 * History: log (repo, file, or the value at a key path), show, diff, blame,
 * and the commands that undo — rollback, revert, undo — each of which makes a
 * new commit: history is never rewritten, so synced machines stay fast-forward.
 */
import { createTwoFilesPatch } from 'diff';
import { ConflictError, NotFoundError, OperationError } from '../errors.js';
import { parseKeyPath } from '../base/keypath.js';
import { normalizeStatePath, STATE_EXTENSIONS } from '../base/paths.js';
import type { StateRepo, WriteResult } from '../core/repo.js';
import type { GitStore } from '../git/store.js';
import { getAt } from '../state/object-path.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import { textWithValue } from '../yaml/onto.js';
import { structuralDiff, type Change } from '../merge/diff.js';
import { merge3, MISSING, type Side } from '../merge/merge3.js';
import { HistoryIndex, type CommitRecord } from './index-file.js';
import { resolveRev } from './revs.js';

export interface LogEntry {
  commit: string;
  parents: string[];
  date: string;
  author: string;
  subject: string;
  op?: string;
  host?: string;
  /** Paths the commit changed (against its first parent). */
  files: string[];
  /** With a key path: the value before and after this commit (absent: undefined). */
  before?: unknown;
  after?: unknown;
}

export interface LogOptions {
  file?: string;
  key?: string;
  limit?: number;
  /** Only commits at or after this time. */
  since?: Date;
}

export interface FileDiff {
  path: string;
  /** Unified text diff. */
  patch: string;
  /** Key-level changes, for YAML and JSON files. */
  changes?: Change[];
}

export class History {
  private indexPromise: Promise<HistoryIndex> | null = null;

  constructor(readonly repo: StateRepo) {}

  /** Commits that touched the repo, a file, or the value at a key path in it; newest first. */
  async log(options: LogOptions = {}): Promise<LogEntry[]> {
    const { store, index, head } = await this.ready();
    const file = options.file ? normalizeStatePath(options.file) : undefined;
    const segments = options.key ? parseKeyPath(options.key) : undefined;
    if (segments && !file) throw new OperationError('--key needs a FILE');
    const since = options.since ? options.since.getTime() / 1000 : -Infinity;
    const limit = options.limit ?? Infinity;
    const out: LogEntry[] = [];
    for (const record of index.walk(head)) {
      if (out.length >= limit) break;
      if (record.t < since) continue;
      if (file && !(file in record.f)) continue;
      const entry = toEntry(record);
      if (file && segments) {
        const after = valueAt(await this.valueOf(store, record.f[file] ?? null, file), segments);
        const before = valueAt(await this.valueOf(store, record.p[0] ? await store.blobOidAt(record.p[0], file) : null, file), segments);
        if (equalJson(before, after)) continue;
        entry.before = before;
        entry.after = after;
      }
      out.push(entry);
    }
    return out;
  }

  /** The commit that last changed the value at `key` in `file`. */
  async blame(file: string, key: string): Promise<LogEntry> {
    const [last] = await this.log({ file, key, limit: 1 });
    if (!last) throw new NotFoundError(`no commit changed ${key} in ${normalizeStatePath(file)}`);
    return last;
  }

  /** A file's content at a revision. */
  async fileAt(rev: string, file: string): Promise<string> {
    const store = await this.repo.store();
    const path = normalizeStatePath(file);
    const content = await this.contentAt(store, await resolveRev(store, rev), path);
    if (content === null) throw new NotFoundError(`${path} does not exist at ${rev}`);
    return content;
  }

  /** A commit: its log entry and the diff of every file it changed. */
  async show(rev: string, options: { structural?: boolean } = {}): Promise<LogEntry & { message: string; diffs: FileDiff[] }> {
    const { store, index } = await this.ready();
    const oid = await resolveRev(store, rev);
    await index.update(oid);
    const record = index.get(oid)!;
    const commit = await store.readCommit(oid);
    const diffs = await this.diffCommits(store, record.p[0] ?? null, oid, Object.keys(record.f), options.structural ?? true);
    return { ...toEntry(record), message: commit.message, diffs };
  }

  /**
   * Differences between two revisions (`from` alone: from there to HEAD; none:
   * the last commit), for every changed file or just `file`.
   */
  async diff(from?: string, to?: string, options: { file?: string; structural?: boolean } = {}): Promise<FileDiff[]> {
    const { store, index } = await this.ready();
    const b = await resolveRev(store, to ?? 'HEAD');
    const a = from ? await resolveRev(store, from) : ((await resolveRev(store, 'HEAD~1').catch(() => null)) as string | null);
    let paths: string[];
    if (options.file) paths = [normalizeStatePath(options.file)];
    else paths = Object.keys(await index.changedPaths(a ? await store.treeOf(a) : null, await store.treeOf(b))).sort();
    return this.diffCommits(store, a, b, paths, options.structural ?? false);
  }

  /** Make `file`'s content at `rev` a new commit (validated like any write). */
  async rollback(file: string, rev: string, options: { message?: string } = {}): Promise<WriteResult> {
    const store = await this.repo.store();
    const path = normalizeStatePath(file);
    const oid = await resolveRev(store, rev);
    const blob = await store.blobOidAt(oid, path);
    const content = blob ? await store.readBlob(blob) : null;
    return this.repo.commitFiles([{ path, content }], { op: 'rollback', subject: `rollback ${path} to ${oid.slice(0, 7)}`, note: options.message });
  }

  /**
   * Undo exactly what `rev` changed, as a new commit, key by key: a three-way
   * merge of HEAD with the commit's parent, based on the commit, so later
   * changes to other keys of the same files stay. A key changed again since is
   * a ConflictError (exit 4), unless `force`, which takes the reverted value.
   */
  async revert(rev: string, options: { force?: boolean; message?: string } = {}): Promise<WriteResult & { conflicts: string[] }> {
    const { store, index } = await this.ready();
    const oid = await resolveRev(store, rev);
    await index.update(oid);
    const record = index.get(oid)!;
    const parent = record.p[0] ?? null;
    const files: Array<{ path: string; content: Uint8Array | null }> = [];
    const conflicts: string[] = [];
    for (const path of Object.keys(record.f).sort()) {
      const before = await this.contentAt(store, parent, path);
      const after = await this.contentAt(store, oid, path);
      const current = await this.contentAt(store, await store.headOid(), path);
      const result = this.revertFile(path, before, after, current, conflicts, options.force ?? false);
      if (result !== undefined) files.push({ path, content: result === null ? null : Buffer.from(result) });
    }
    if (conflicts.length > 0 && !options.force) {
      throw new ConflictError(`cannot revert ${oid.slice(0, 7)}: changed again since: ${conflicts.join(', ')} (nothing written; --force takes the reverted values)`, { conflicts });
    }
    const result = await this.repo.commitFiles(files, { op: 'revert', subject: `revert ${oid.slice(0, 7)}: ${record.s}`, note: options.message });
    return { ...result, conflicts };
  }

  /** Revert the last commit. */
  undo(options: { force?: boolean; message?: string } = {}): Promise<WriteResult & { conflicts: string[] }> {
    return this.revert('HEAD', options);
  }

  /** The new text of one file for a revert; undefined: leave it; null: remove it. */
  private revertFile(path: string, before: string | null, after: string | null, current: string | null, conflicts: string[], force: boolean): string | null | undefined {
    if (!isStructured(path)) {
      if (current === after || force) return before;
      conflicts.push(path);
      return undefined;
    }
    const parse = (text: string | null): Side => (text === null ? MISSING : getValue(parseStateText(text, path), []));
    const merged = merge3(parse(after), parse(current), parse(before), { resolve: () => (force ? 'theirs' : 'ours') });
    for (const c of merged.conflicts) conflicts.push(`${path}: ${c.path}`);
    if (merged.value === MISSING) return null;
    if (current === null) return before ?? serializeValue(path, merged.value);
    return textWithValue(path, current, merged.value);
  }

  private async diffCommits(store: GitStore, a: string | null, b: string, paths: string[], structural: boolean): Promise<FileDiff[]> {
    const out: FileDiff[] = [];
    for (const path of paths) {
      const before = await this.contentAt(store, a, path);
      const after = await this.contentAt(store, b, path);
      if (before === after) continue;
      const patch = createTwoFilesPatch(before === null ? '/dev/null' : `a/${path}`, after === null ? '/dev/null' : `b/${path}`, before ?? '', after ?? '', undefined, undefined, { context: 3 });
      const entry: FileDiff = { path, patch };
      if (structural && isStructured(path)) {
        const value = (text: string | null) => (text === null ? undefined : getValue(parseStateText(text, path), []));
        entry.changes = structuralDiff(value(before), value(after));
      }
      out.push(entry);
    }
    return out;
  }

  private async contentAt(store: GitStore, commit: string | null, path: string): Promise<string | null> {
    const blob = await store.blobOidAt(commit, path);
    return blob ? decodeText(await store.readBlob(blob), path) : null;
  }

  private readonly values = new Map<string, unknown>();
  /** A state file's value in a blob (cached by blob id: blobs never change). */
  private async valueOf(store: GitStore, blob: string | null, path: string): Promise<unknown> {
    if (!blob) return undefined;
    if (this.values.has(blob)) return this.values.get(blob);
    let value: unknown;
    try {
      value = getValue(parseStateText(decodeText(await store.readBlob(blob), path), path), []);
    } catch {
      value = undefined; // a malformed version (committed by hand) has no values
    }
    this.values.set(blob, value);
    return value;
  }

  private async ready(): Promise<{ store: GitStore; index: HistoryIndex; head: string | null }> {
    const store = await this.repo.store();
    this.indexPromise ??= Promise.resolve(new HistoryIndex(store));
    const index = await this.indexPromise;
    const head = await store.headOid();
    await index.update(head);
    return { store, index, head };
  }
}

function toEntry(r: CommitRecord): LogEntry {
  const entry: LogEntry = { commit: r.c, parents: r.p, date: new Date(r.t * 1000).toISOString(), author: r.a, subject: r.s, files: Object.keys(r.f).sort() };
  if (r.op) entry.op = r.op;
  if (r.host) entry.host = r.host;
  return entry;
}

function valueAt(value: unknown, segments: ReturnType<typeof parseKeyPath>): unknown {
  try {
    return value === undefined ? undefined : getAt(value, segments);
  } catch {
    return undefined;
  }
}

function equalJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isStructured(path: string): boolean {
  return STATE_EXTENSIONS.some((ext) => path.endsWith(ext));
}

function serializeValue(path: string, value: unknown): string {
  return textWithValue(path, null, value);
}
