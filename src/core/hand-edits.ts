/**
 * Hand edits: files in the work tree that differ from HEAD because someone
 * edited them by hand, or another tool wrote them, and nobody committed them.
 *
 * - `gitstate commit` (commitHandEdits) checks them like any write and commits them.
 * - `sync` commits them first, in a commit of their own (commitBeforeSync).
 * - Before a write, the pre-pass (findHandEdits) keeps an edited file the write
 *   is about to change in a commit of its own first: a write never silently
 *   overwrites an edit.
 *
 * All three refuse an edit that emptied a file, or dropped more than half of
 * its top-level keys (items, for a list), unless forced: the tools gitstate
 * replaces truncate a file before writing it, and one may still run beside it;
 * a half-written file must never be committed as the truth.
 *
 * The pre-pass also brings a repo made before the format marker existed up to
 * the current format (core/format.ts), in the same commit.
 */
import { join } from 'node:path';
import { ExitCode, GitstateError, messageOf, NotFoundError, onCurrentHead, OperationError, RepoError } from '../errors.js';
import { indexRefusalAt } from '../git/index-patch.js';
import { readStateBytes } from '../base/files.js';
import { normalizeStatePath, STATE_EXTENSIONS } from '../base/paths.js';
import { blobOid } from '../git/objects.js';
import type { Stage } from '../git/stage.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import { FORMAT_FILE, FORMAT_VERSION, formatText, parseFormat, upgradesFrom } from './format.js';
import { commitMessage } from './message.js';
import type { StateRepo, WriteResult } from './repo.js';
import type { FileChange } from './types.js';

/** Files were refused (exit 3): each with its code and why; nothing was written. `code` is the first file's. */
export class FilesRejectedError extends GitstateError {
  readonly exitCode = ExitCode.rejected;
  constructor(
    readonly code: string,
    message: string,
    data: { files: Array<{ file: string; code: string; message: string }> },
  ) {
    super(message, data);
  }
}

/** A hand edit that looks like a half-written file: refused unless forced (exit 3). */
export class TruncatedEditError extends GitstateError {
  readonly code = 'TRUNCATED';
  readonly exitCode = ExitCode.rejected;
}

export interface HandEdit {
  path: string;
  status: 'modified' | 'deleted' | 'new';
}

const CURRENT_MARKER = blobOid(Buffer.from(formatText()));

// ---- the pre-pass before a write ---------------------------------------------

export async function findHandEdits(
  dir: string,
  stage: Stage,
  changes: readonly FileChange[],
  checkFile: (path: string, bytes: Uint8Array) => Promise<void>,
  /** The `Gitstate-Host` of the commit (default: this process's): the host of the write it comes before. */
  host?: string,
): Promise<{ changes: FileChange[]; message: string } | null> {
  const edited: FileChange[] = [];
  for (const change of changes) {
    // an earlier write of this group changed it: what is on disk is not the truth for it any more
    if (stage.fileContent(change.path) !== undefined) continue;
    const bytes = await readStateBytes(dir, change.path);
    const onDisk = bytes ? blobOid(bytes) : null;
    const atHead = await stage.blobOidAt(stage.head, change.path);
    if (onDisk === atHead) continue;
    // what the write means to leave is there already: a file removed by hand that the write removes too
    if (!bytes && !change.content) continue;
    if (bytes && change.content && Buffer.compare(Buffer.from(bytes), Buffer.from(change.content)) === 0) continue;
    if (!bytes && atHead) {
      // absent by design (outside a sparse checkout), or an index this write could not judge: said as such, with the way out
      const refused = indexRefusalAt(dir, join(dir, '.git'), [change.path]);
      if (refused) throw new RepoError(`${refused.problem}; nothing was written. ${refused.fix}`);
      // a write would start the file again from nothing, and its data at HEAD would go with the deletion
      const had = topLevel(valueOf(change.path, await readBlob(dir, atHead)));
      if (had.length > 0) {
        throw new TruncatedEditError(
          `${change.path} was deleted on disk (${plural(had.length, 'top-level key')} at HEAD): a tool may have been cut off while writing it; nothing was written. Restore it with "git -C ${dir} checkout HEAD -- ${change.path}", or commit the deletion with "gitstate commit ${change.path}"`,
          { file: change.path },
        );
      }
    }
    if (bytes) {
      const committed = atHead ? await readBlob(dir, atHead) : null;
      if (committed && onlyLineEndings(committed, bytes)) {
        throw new RepoError(
          `${change.path} differs from HEAD only in its line endings (CRLF on disk, LF committed): git's core.autocrlf converted it at checkout, and gitstate keeps files byte for byte; nothing was written. Turn it off for this repo and check the file out again: gitstate --dir ${dir} init && git -C ${dir} checkout HEAD -- ${change.path}`,
        );
      }
      const suspect = committed ? truncation(change.path, committed, bytes) : null;
      if (suspect) {
        throw new TruncatedEditError(`${suspect}; nothing was written. ${keepOrRestore(dir, change.path)}`, { file: change.path });
      }
      try {
        await checkFile(change.path, bytes);
      } catch (err) {
        throw new OperationError(
          `${change.path} has uncommitted changes on disk that fail validation (${messageOf(err)}); fix them, or discard them with "git -C ${dir} checkout HEAD -- ${change.path}"`,
        );
      }
    }
    edited.push({ path: change.path, content: bytes });
  }
  const upgrade = await formatUpgradeAt(stage, dir);
  if (edited.length === 0 && !upgrade) return null;
  if (edited.length === 0) return { changes: upgrade!.changes, message: upgrade!.message };
  const paths = edited.map((c) => c.path);
  const message = commitMessage(
    paths.map((file) => ({ op: 'recover' as const, file })),
    {
      op: 'recover',
      subject: `recover uncommitted changes to ${paths.join(', ')}`,
      note: `Found on disk, never committed; kept before the next write.${upgrade ? ` Also: ${upgrade.what}.` : ''}`,
      host,
    },
  );
  return { changes: [...edited, ...(upgrade?.changes ?? [])], message };
}

/** The commit that brings a repo whose HEAD predates the current format up to it, or null when it is current. */
async function formatUpgradeAt(stage: Stage, dir: string): Promise<{ changes: FileChange[]; message: string; what: string } | null> {
  if (!stage.head || stage.fileContent(FORMAT_FILE) !== undefined) return null;
  const blob = await stage.blobOidAt(stage.head, FORMAT_FILE);
  if (blob === CURRENT_MARKER) return null;
  const version = blob ? parseFormat(decodeText(await readBlob(dir, blob), FORMAT_FILE), FORMAT_FILE) : 0;
  if (version >= FORMAT_VERSION) return null;
  return upgradeCommit(stage.head, async (path) => {
    const staged = stage.fileContent(path);
    return staged !== undefined ? staged : readStateBytes(dir, path);
  }, version);
}

/**
 * The upgrade from `version` (default: what HEAD's marker says) to the current
 * format, as one commit: each step's changes, then the marker. Null when current.
 */
export async function upgradeCommit(
  head: string | null,
  read: (path: string) => Promise<Uint8Array | null>,
  version?: number,
): Promise<{ changes: FileChange[]; message: string; what: string } | null> {
  const from = version ?? (await markerVersion(read));
  const steps = upgradesFrom(from);
  if (!head || steps.length === 0) return null;
  const changes: FileChange[] = [];
  for (const step of steps) if (step.changes) changes.push(...(await step.changes(read)));
  changes.push({ path: FORMAT_FILE, content: Buffer.from(formatText()) });
  const what = steps.map((s) => s.what).join('; ');
  const message = commitMessage(
    changes.map((c) => ({ op: 'upgrade' as const, file: c.path })),
    { op: 'upgrade', subject: `upgrade the repository to format ${FORMAT_VERSION}`, note: `${what}.` },
  );
  return { changes, message, what };
}

async function markerVersion(read: (path: string) => Promise<Uint8Array | null>): Promise<number> {
  const bytes = await read(FORMAT_FILE);
  return bytes ? parseFormat(decodeText(bytes, FORMAT_FILE), FORMAT_FILE) : 0;
}

async function readBlob(dir: string, oid: string): Promise<Uint8Array> {
  const { GitStore } = await import('../git/store.js');
  return new GitStore(dir).readBlob(oid);
}

/** Whether `disk` is `committed` with its LF line ends turned into CRLF (a checkout under core.autocrlf), and nothing else. */
function onlyLineEndings(committed: Uint8Array, disk: Uint8Array): boolean {
  const before = Buffer.from(committed);
  const after = Buffer.from(disk);
  if (before.includes(0x0d) || !after.includes(0x0d)) return false;
  return Buffer.from(after.toString('latin1').replace(/\r\n/g, '\n'), 'latin1').equals(before);
}

// ---- the truncation guard ------------------------------------------------------

/**
 * Why an edit of a state file from `before` (HEAD) to `after` (disk) looks like a
 * half-written file, or null: it emptied a file that had data, or dropped more
 * than half of its top-level keys (or list items).
 */
export function truncation(path: string, before: Uint8Array, after: Uint8Array): string | null {
  if (!STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) return null;
  const old = valueOf(path, before);
  const now = valueOf(path, after);
  if (old === undefined || now === undefined) return null; // unreadable: the parse check speaks for it
  const had = topLevel(old);
  if (had.length === 0) return null;
  if (topLevel(now).length === 0 && (now === null || typeof now === 'object' || (typeof now === 'string' && now.trim() === ''))) {
    return `${path} was emptied on disk (${plural(had.length, 'top-level key')} at HEAD): a tool may have been cut off while writing it`;
  }
  const dropped = Array.isArray(old) ? had.slice(Array.isArray(now) ? now.length : 0) : had.filter((k) => !(isMap(now) && k in now));
  if (dropped.length * 2 <= had.length) return null;
  const names = Array.isArray(old) ? '' : ` (${dropped.slice(0, 5).join(', ')}${dropped.length > 5 ? ', …' : ''})`;
  const what = Array.isArray(old) ? 'list items' : 'top-level keys';
  return `${path} lost ${dropped.length} of its ${had.length} ${what} on disk${names}: a tool may have been cut off while writing it`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** Top-level keys of a map, or item positions of a list; nothing for a scalar or an empty file. */
function topLevel(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((_, i) => String(i));
  if (isMap(value)) return Object.keys(value);
  return [];
}

function valueOf(path: string, bytes: Uint8Array): unknown {
  try {
    return getValue(parseStateText(decodeText(bytes, path), path), []) ?? null;
  } catch {
    return undefined;
  }
}

function keepOrRestore(dir: string, path: string): string {
  return `Restore it with "git -C ${dir} checkout HEAD -- ${path}", or keep it as it is with "gitstate commit --force ${path}"`;
}

// ---- gitstate commit, and sync ---------------------------------------------------

/** Paths gitstate takes as hand edits besides state files: the .gitignore and folder keepers. */
function isManaged(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'config.json' || path === FORMAT_FILE) return false;
  return path === '.gitignore' || name === '.gitkeep' || STATE_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** The work tree's hand edits: state files (and .gitignore, .gitkeep) that differ from HEAD, new ones included. */
export async function listHandEdits(repo: StateRepo): Promise<HandEdit[]> {
  const store = await repo.store();
  const out: HandEdit[] = [];
  for (const { path, atHead, onDisk } of await store.diskChanges()) {
    if (!isManaged(path)) continue;
    out.push({ path, status: !atHead ? 'new' : onDisk ? 'modified' : 'deleted' });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface CommitOptions {
  /** Only these files (default: every hand edit). */
  files?: string[];
  /** A note for the commit message (`-m`). */
  message?: string;
  /** Commit an edit that looks truncated anyway. */
  force?: boolean;
  /** The commit's subject (default: "commit hand edits to …"). */
  subject?: string;
  /** Said before every refusal (sync: what it did not do). */
  refusal?: string;
}

/**
 * Check the hand edits (parse, schema, secret guard, the truncation guard) and
 * commit them as one commit; one failure refuses all, naming each file and why.
 */
export async function commitHandEdits(repo: StateRepo, options: CommitOptions = {}): Promise<WriteResult & { edits: HandEdit[] }> {
  // The work tree is read outside the lock, so a write (here or in another process)
  // can land meanwhile: the commit is made only on the HEAD the edits were read
  // against, else they are read again. Without this, a stale copy of a file would
  // be committed over a write acknowledged in between.
  return onCurrentHead(() => commitHandEditsAt(repo, options));
}

async function commitHandEditsAt(repo: StateRepo, options: CommitOptions): Promise<WriteResult & { edits: HandEdit[] }> {
  const store = await repo.store();
  const head = await store.headOid();
  const all = await listHandEdits(repo);
  const edits = options.files?.length ? await pick(repo, all, options.files) : all;
  if (edits.length === 0) return { commit: head ?? '', changed: false, files: [], edits };
  const changes: FileChange[] = [];
  const failures: Array<{ file: string; code: string; message: string }> = [];
  for (const edit of edits) {
    try {
      const bytes = edit.status === 'deleted' ? null : await readStateBytes(repo.dir, edit.path);
      if (bytes) {
        if (STATE_EXTENSIONS.some((ext) => edit.path.endsWith(ext))) normalizeStatePath(edit.path); // the path rules
        await repo.checkFileContent(edit.path, bytes);
        const atHead = await store.blobOidAt(head, edit.path);
        const suspect = atHead && !options.force ? truncation(edit.path, await store.readBlob(atHead), bytes) : null;
        if (suspect) throw new TruncatedEditError(`${suspect} (--force commits it anyway; "git -C ${repo.dir} checkout HEAD -- ${edit.path}" restores it)`, { file: edit.path });
      }
      changes.push({ path: edit.path, content: bytes });
    } catch (err) {
      failures.push({ file: edit.path, code: err instanceof GitstateError ? err.code : 'RUNTIME', message: messageOf(err) });
    }
  }
  if (failures.length > 0) {
    const list = failures.map((f) => f.message).join('; ');
    throw new FilesRejectedError(failures[0]!.code, `${options.refusal ?? 'nothing committed'}: ${list}`, { files: failures });
  }
  const paths = edits.map((e) => e.path);
  const subject = options.subject ?? `commit hand edits to ${listNames(paths)}`;
  const result = await repo.commitFiles(changes, { op: 'commit', subject, note: options.message }, { expectedHead: head });
  return { ...result, edits };
}

/** Before a sync: hand edits are committed first, in their own commit, so they are synced too. */
export async function commitBeforeSync(repo: StateRepo): Promise<WriteResult | null> {
  const edits = await listHandEdits(repo);
  if (edits.length === 0) return null;
  return commitHandEdits(repo, {
    subject: `commit hand edits to ${listNames(edits.map((e) => e.path))} before sync`,
    refusal: 'sync stopped before fetching or pushing anything, because of uncommitted hand edits',
  });
}

/** The named files among the hand edits; a name that is nowhere is NOT_FOUND. */
async function pick(repo: StateRepo, all: HandEdit[], names: string[]): Promise<HandEdit[]> {
  const store = await repo.store();
  const head = await store.headOid();
  const picked: HandEdit[] = [];
  for (const name of names) {
    const path = name === '.gitignore' || name.endsWith('/.gitkeep') || name === '.gitkeep' ? name : normalizeStatePath(name);
    const edit = all.find((e) => e.path === path);
    if (edit) {
      if (!picked.includes(edit)) picked.push(edit);
      continue;
    }
    const onDisk = await readStateBytes(repo.dir, path);
    if (!onDisk && !(await store.blobOidAt(head, path))) throw new NotFoundError(`${path} does not exist, on disk or at HEAD`, { file: path });
  }
  return picked;
}

function listNames(paths: string[]): string {
  return paths.length <= 3 ? paths.join(', ') : `${paths.slice(0, 3).join(', ')} and ${paths.length - 3} more`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
