/**
 * History: log (repo, file, or the value at a key path), show, diff, blame,
 * and the commands that undo — rollback, revert, undo — each of which makes a
 * new commit: history is never rewritten, so synced machines stay fast-forward.
 */
import { createTwoFilesPatch } from 'diff';
import { ConflictError, NotFoundError, onCurrentHead, UsageError } from '../errors.js';
import { readStateBytes } from '../base/files.js';
import { listHandEdits } from '../core/hand-edits.js';
import { parseKeyPath, type Segment } from '../base/keypath.js';
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
import { redactDiffLine, redactSegments, redactShown, redactText, redactValue, secretStrings } from '../security/secrets.js';

/** The last key name of a key path (what makes a value sensitive), if it ends in one. */
function lastKey(segments: readonly Segment[]): string | undefined {
  const last = segments[segments.length - 1];
  return last?.kind === 'key' ? last.name : undefined;
}

/** A line of a file shown whole: as a diff's context line is. */
function redactShownLine(line: string): string {
  return redactDiffLine(` ${line}`).slice(1);
}

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
    if (segments && !file) throw new UsageError('--key needs a FILE (gitstate log FILE --key KEY)');
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
        // a merge that took the value as another parent had it did not write it: that parent's commit did (as git blame)
        if (record.p.length > 1 && (await this.anyParentHas(store, record.p.slice(1), file, segments, after))) continue;
        // shown, never a secret (one pulled from elsewhere, or committed before gitstate)
        entry.before = redactValue(before, lastKey(segments));
        entry.after = redactValue(after, lastKey(segments));
      }
      out.push(entry);
    }
    if (out.length === 0 && file && limit !== 0) this.assertHasHistory(index, head, file, segments && !options.since ? options.key : undefined);
    return out;
  }

  private async anyParentHas(store: GitStore, parents: readonly string[], file: string, segments: readonly Segment[], value: unknown): Promise<boolean> {
    for (const parent of parents) {
      if (equalJson(valueAt(await this.valueOf(store, await store.blobOidAt(parent, file), file), segments), value)) return true;
    }
    return false;
  }

  /** NOT_FOUND for a file no commit ever had, or (`key`) a value no commit ever changed. */
  private assertHasHistory(index: HistoryIndex, head: string | null, file: string, key?: string): void {
    for (const record of index.walk(head)) {
      if (!(file in record.f)) continue;
      if (key) throw new NotFoundError(`no commit changed ${key} in ${file}`, { file, key });
      return;
    }
    throw new NotFoundError(`${file} has no history: no commit ever had it`, { file });
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
    return redactShown(content.split('\n').map(redactShownLine).join('\n'), secretStrings(path, content));
  }

  /** A commit: its log entry and the diff of every file it changed. */
  async show(rev: string, options: { structural?: boolean } = {}): Promise<LogEntry & { message: string; diffs: FileDiff[] }> {
    const { store, index } = await this.ready();
    const oid = await resolveRev(store, rev);
    await index.update(oid);
    const record = index.get(oid)!;
    const commit = await store.readCommit(oid);
    const diffs = await this.diffCommits(store, record.p[0] ?? null, oid, Object.keys(record.f), options.structural ?? true);
    return { ...toEntry(record), message: redactText(commit.message), diffs };
  }

  /**
   * Differences between two revisions (`from` alone: from there to HEAD; none:
   * the last commit), for every changed file or just `file`. (`gitstate diff`
   * with no revision shows the work tree instead: diffWorkTree.)
   */
  async diff(from?: string, to?: string, options: { file?: string; structural?: boolean } = {}): Promise<FileDiff[]> {
    const { store, index } = await this.ready();
    const b = await resolveRev(store, to ?? 'HEAD');
    const a = from ? await resolveRev(store, from) : ((await resolveRev(store, 'HEAD~1').catch(() => null)) as string | null);
    let paths: string[];
    if (options.file) {
      const path = normalizeStatePath(options.file);
      if ((await store.blobOidAt(a, path)) === null && (await store.blobOidAt(b, path)) === null) {
        throw new NotFoundError(`${path} does not exist at ${from ?? 'HEAD~1'} or ${to ?? 'HEAD'}`, { file: path });
      }
      paths = [path];
    } else paths = Object.keys(await index.changedPaths(a ? await store.treeOf(a) : null, await store.treeOf(b))).sort();
    return this.diffCommits(store, a, b, paths, options.structural ?? false);
  }

  /** The work tree against HEAD, as `git diff`: every hand edit (what `gitstate commit` would take), or just `file`. */
  async diffWorkTree(options: { file?: string; structural?: boolean }): Promise<FileDiff[]> {
    const store = await this.repo.store();
    const head = await store.headOid();
    let paths: string[];
    if (options.file) {
      const path = normalizeStatePath(options.file);
      if ((await readStateBytes(this.repo.dir, path)) === null && (await store.blobOidAt(head, path)) === null) {
        throw new NotFoundError(`${path} does not exist, on disk or at HEAD`, { file: path });
      }
      paths = [path];
    } else paths = (await listHandEdits(this.repo)).map((e) => e.path);
    const out: FileDiff[] = [];
    for (const path of paths) {
      const bytes = await readStateBytes(this.repo.dir, path);
      const diff = this.fileDiff(path, await this.contentAt(store, head, path), bytes ? decodeText(bytes, path) : null, options.structural ?? false);
      if (diff) out.push(diff);
    }
    return out;
  }

  /** Make `file`'s content at `rev` a new commit (validated like any write). */
  async rollback(file: string, rev: string, options: { message?: string } = {}): Promise<WriteResult> {
    const store = await this.repo.store();
    const path = normalizeStatePath(file);
    const oid = await resolveRev(store, rev);
    const blob = await store.blobOidAt(oid, path);
    const head = await store.headOid();
    if (!blob && !(await store.blobOidAt(head, path))) throw new NotFoundError(`${path} does not exist at ${rev}${oid === head ? '' : ' or at HEAD'}`, { file: path });
    const content = blob ? await store.readBlob(blob) : null;
    return this.repo.commitFiles([{ path, content }], { op: 'rollback', subject: `rollback ${path} to ${oid.slice(0, 7)}`, note: options.message });
  }

  /**
   * Undo exactly what `rev` changed, as a new commit, key by key: a three-way
   * merge of HEAD with the commit's parent, based on the commit, so later
   * changes to other keys of the same files stay. A key changed again since is
   * a ConflictError (exit 4), unless `force`, which takes the reverted value.
   * The first commit is never reverted (that would remove every file it made).
   */
  async revert(rev: string, options: { force?: boolean; message?: string } = {}): Promise<WriteResult & { conflicts: string[] }> {
    const { store, index } = await this.ready();
    const oid = await resolveRev(store, rev);
    await index.update(oid);
    return onCurrentHead(() => this.revertOnHead(store, index, oid, 'revert', options));
  }

  /**
   * Revert the newest commit not yet undone. Undo commits themselves are
   * stepped over, and so is each commit an undo reverted: repeated `undo` walks
   * back through the history of other commits instead of toggling the last one.
   * (An explicit `revert` is an ordinary commit: `undo` after it undoes it.)
   */
  async undo(options: { force?: boolean; message?: string } = {}): Promise<WriteResult & { conflicts: string[] }> {
    const { store, index, head } = await this.ready();
    if (!head) throw new NotFoundError('the repository has no commits yet');
    const undone = new Set<string>();
    for (let oid: string | null = head; oid; ) {
      const record: CommitRecord = index.get(oid)!;
      if (record.op === 'undo') {
        const target = revertedCommit((await store.readCommit(oid)).message);
        if (target) undone.add(target);
      } else if (!undone.has(oid)) {
        const target = oid;
        return onCurrentHead(() => this.revertOnHead(store, index, target, 'undo', options));
      }
      oid = record.p[0] ?? null;
    }
    throw new ConflictError('nothing left to undo: every commit after the first has been undone');
  }

  /** Revert `oid` on the current HEAD (callers retry it with onCurrentHead: the commit to take back is chosen once). */
  private async revertOnHead(
    store: GitStore,
    index: HistoryIndex,
    oid: string,
    op: 'revert' | 'undo',
    options: { force?: boolean; message?: string },
  ): Promise<WriteResult & { conflicts: string[] }> {
    const record = index.get(oid)!;
    const subject = originalSubject(record.s);
    if (record.p.length === 0) {
      throw new ConflictError(`cannot ${op} ${oid.slice(0, 7)} (${subject}): it is the repository's first commit, and undoing it would remove every file it made; nothing written`, { commit: oid });
    }
    const parent = record.p[0] ?? null;
    const files: Array<{ path: string; content: Uint8Array | null }> = [];
    const conflicts: string[] = [];
    const head = await store.headOid();
    for (const path of Object.keys(record.f).sort()) {
      const before = await this.contentAt(store, parent, path);
      const after = await this.contentAt(store, oid, path);
      const current = await this.contentAt(store, head, path);
      const result = this.revertFile(path, before, after, current, conflicts, options.force ?? false);
      if (result !== undefined) files.push({ path, content: result === null ? null : Buffer.from(result) });
    }
    if (conflicts.length > 0 && !options.force) {
      throw new ConflictError(`cannot ${op} ${oid.slice(0, 7)}: changed again since: ${conflicts.join(', ')} (nothing written; --force takes the reverted values)`, { conflicts });
    }
    const note = [`This reverts commit ${oid}.`, options.message?.trim()].filter(Boolean).join('\n\n');
    const result = await this.repo.commitFiles(files, { op, subject: `revert ${oid.slice(0, 7)}: ${subject}`, note }, { expectedHead: head });
    return { ...result, conflicts };
  }

  /** The new text of one file for a revert; undefined: leave it; null: remove it. */
  private revertFile(path: string, before: string | null, after: string | null, current: string | null, conflicts: string[], force: boolean): string | null | undefined {
    // nothing changed since: the file goes back to its exact text, comments and all
    if (current === after) return before;
    if (!isStructured(path)) {
      if (force) return before;
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
      const diff = this.fileDiff(path, await this.contentAt(store, a, path), await this.contentAt(store, b, path), structural);
      if (diff) out.push(diff);
    }
    return out;
  }

  private fileDiff(path: string, before: string | null, after: string | null, structural: boolean): FileDiff | null {
    if (before === after) return null;
    const patch = createTwoFilesPatch(before === null ? '/dev/null' : `a/${path}`, after === null ? '/dev/null' : `b/${path}`, before ?? '', after ?? '', undefined, undefined, { context: 3 });
    // diffs are shown: no secret in them, whatever history holds
    const entry: FileDiff = { path: redactText(path), patch: redactShown(patch.split('\n').map(redactDiffLine).join('\n'), [...secretStrings(path, before), ...secretStrings(path, after)]) };
    if (structural && isStructured(path)) {
      const value = (text: string | null) => {
        if (text === null) return undefined;
        try {
          return getValue(parseStateText(text, path), []);
        } catch {
          return undefined; // a hand edit that does not parse: the text diff shows it
        }
      };
      entry.changes = structuralDiff(value(before), value(after)).map((c) => {
        const key = lastKey(c.segments);
        return { ...c, path: redactText(c.path), segments: redactSegments(c.segments), ...('before' in c ? { before: redactValue(c.before, key) } : {}), ...('after' in c ? { after: redactValue(c.after, key) } : {}) };
      });
    }
    return entry;
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

/** The commit a revert or undo commit reverted, from its "This reverts commit <id>." line. */
function revertedCommit(message: string): string | null {
  return /^This reverts commit ([0-9a-f]{40})\.$/m.exec(message)?.[1] ?? null;
}

/** A subject without the "revert <id>: " prefixes of earlier reverts: subjects never nest. */
function originalSubject(subject: string): string {
  return subject.replace(/^(?:revert [0-9a-f]{7,40}: )+/, '');
}

function toEntry(r: CommitRecord): LogEntry {
  // what a native commit's message or author line holds is shown redacted, as every secret is
  const entry: LogEntry = { commit: r.c, parents: r.p, date: new Date(r.t * 1000).toISOString(), author: redactText(r.a), subject: redactText(r.s), files: Object.keys(r.f).map(redactText).sort() };
  if (r.op) entry.op = r.op;
  if (r.host) entry.host = r.host;
  return entry;
}

function valueAt(value: unknown, segments: readonly Segment[]): unknown {
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
