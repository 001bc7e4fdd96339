/**
 * Updating git's index without isomorphic-git, so a write costs the same in a
 * repository of 10 files or 20,000 and a pull or a write of a new file does
 * not load isomorphic-git (~30 ms a process).
 *
 * Only the simple, common index is handled: version 2, no extensions, every
 * entry at stage 0 (what gitstate and isomorphic-git write). Anything else (an
 * index native git gave a cache-tree, which would go stale; a merge in
 * progress; version 3 or 4) returns null and is left to isomorphic-git.
 *
 * The entry of a path already in the index has a fixed-size record (stat data
 * and object id), so rewriting existing files changes those records and the
 * trailing checksum only; a new or removed path rebuilds the entry list, in
 * git's order (the paths' bytes compared).
 */
import { createHash } from 'node:crypto';
import { readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

const HEADER = 12;
const CHECKSUM = 20;
/** ctime, mtime (2 x 2 words), dev, ino, mode, uid, gid, size: 10 big-endian uint32 before the object id. */
const STAT_WORDS = 10;
const OID_OFFSET = STAT_WORDS * 4;
const FLAGS_OFFSET = OID_OFFSET + 20;
const ENTRY_FIXED = FLAGS_OFFSET + 2;
/** The name length field of an entry's flags; longer names store this and end at their NUL. */
const NAME_MASK = 0xfff;

/** An entry to write (with the file's stat data), or one to remove (oid null). */
export type EntryUpdate = EntryWrite | { path: string; oid: null };
type EntryWrite = { path: string; oid: string; stats: BigIntStats };

interface Entry {
  offset: number;
  end: number;
}

/** `index` (null: there is none yet) with the updates applied, or null when it is not an index this module handles. */
export function updateIndex(index: Buffer | null, updates: readonly EntryUpdate[]): Buffer | null {
  const entries = index ? readEntries(index) : new Map<string, Entry>();
  if (!entries) return null;
  const writes = updates.filter((u): u is EntryWrite => u.oid !== null);
  if (index && writes.length === updates.length && writes.every((u) => entries.has(u.path))) return patchInPlace(index, entries, writes);
  const records = new Map<string, Buffer>();
  for (const [path, { offset, end }] of entries) records.set(path, index!.subarray(offset, end));
  for (const u of updates) {
    if (u.oid === null) records.delete(u.path);
    else records.set(u.path, newEntry(u.path, u.oid, u.stats));
  }
  const names = [...records.keys()].map((path) => ({ path, bytes: Buffer.from(path, 'utf8') }));
  names.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const header = Buffer.alloc(HEADER);
  header.write('DIRC', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(names.length, 8);
  return withChecksum(Buffer.concat([header, ...names.map((n) => records.get(n.path)!), Buffer.alloc(CHECKSUM)]));
}

function patchInPlace(index: Buffer, entries: Map<string, Entry>, writes: readonly EntryWrite[]): Buffer {
  const out = Buffer.from(index);
  for (const { path, oid, stats } of writes) {
    const offset = entries.get(path)!.offset;
    writeStats(out, offset, stats);
    out.write(oid, offset + OID_OFFSET, 20, 'hex');
  }
  return withChecksum(out);
}

/** A stage-0 entry: stat data, object id, flags (the name's length), the name, and 1-8 NULs to a multiple of 8 bytes. */
function newEntry(path: string, oid: string, stats: BigIntStats): Buffer {
  const name = Buffer.from(path, 'utf8');
  const entry = Buffer.alloc(Math.ceil((ENTRY_FIXED + name.length + 1) / 8) * 8);
  writeStats(entry, 0, stats);
  entry.write(oid, OID_OFFSET, 20, 'hex');
  entry.writeUInt16BE(Math.min(name.length, NAME_MASK), FLAGS_OFFSET);
  name.copy(entry, ENTRY_FIXED);
  return entry;
}

function writeStats(out: Buffer, offset: number, stats: BigIntStats): void {
  const billion = 1_000_000_000n;
  const words = [stats.ctimeNs / billion, stats.ctimeNs % billion, stats.mtimeNs / billion, stats.mtimeNs % billion, stats.dev, stats.ino, gitMode(stats.mode), stats.uid, stats.gid, stats.size];
  // git keeps the low 32 bits of each field
  words.forEach((value, i) => out.writeUInt32BE(Number(value & 0xffffffffn), offset + i * 4));
}

/** The mode git records for a file: a symlink, or a regular file 644 or 755 (any execute bit), never the umask's bits. */
function gitMode(mode: bigint): bigint {
  if ((mode & 0o170000n) === 0o120000n) return 0o120000n;
  return mode & 0o100n ? 0o100755n : 0o100644n;
}

function withChecksum(out: Buffer): Buffer {
  createHash('sha1').update(out.subarray(0, out.length - CHECKSUM)).digest().copy(out, out.length - CHECKSUM);
  return out;
}

/** Where each entry of a version 2 index without extensions starts and ends; null for any other index or a stage other than 0. */
function readEntries(buffer: Buffer): Map<string, Entry> | null {
  if (buffer.length < HEADER + CHECKSUM || buffer.toString('latin1', 0, 4) !== 'DIRC') return null;
  if (buffer.readUInt32BE(4) !== 2) return null;
  const count = buffer.readUInt32BE(8);
  const entries = new Map<string, Entry>();
  let offset = HEADER;
  for (let i = 0; i < count; i++) {
    if (offset + ENTRY_FIXED > buffer.length - CHECKSUM) return null;
    const flags = buffer.readUInt16BE(offset + FLAGS_OFFSET);
    if (((flags >> 12) & 3) !== 0) return null; // a conflicted path, mid-merge: not ours to touch
    const nameEnd = buffer.indexOf(0, offset + ENTRY_FIXED);
    if (nameEnd < 0) return null;
    const end = offset + Math.ceil((nameEnd - offset + 1) / 8) * 8;
    entries.set(buffer.toString('utf8', offset + ENTRY_FIXED, nameEnd), { offset, end });
    offset = end;
  }
  if (offset !== buffer.length - CHECKSUM) return null;
  return entries;
}

/** Why an index cannot be rewritten whole, and the command that makes it one that can. */
export interface IndexRefusal {
  /** `layout`: version 4 or split, which git converts at once (init does). */
  kind: 'layout' | 'sparse' | 'unreadable';
  problem: string;
  fix: string;
}

/**
 * Why gitstate must not rewrite this index, and how to make it one it may; null
 * when it may. A rewrite keeps only what the entry list says: an index whose
 * entries are elsewhere, or that a layout hides, would lose them.
 *  - version 4 (prefix-compressed names: neither reader here reads them);
 *  - a split index (`link`: most entries live in a shared index file) or a
 *    sparse index (`sdir`: folders stand for their files), and any other
 *    extension git marks as one a reader must understand (a lowercase name);
 *  - a path to be written that is outside a sparse checkout (skip-worktree):
 *    its file is absent on disk by design, not deleted.
 * Caches git rebuilds (the cache-tree, the untracked cache) may be dropped.
 * `git` is the command prefix for the fixes (`git -C DIR`).
 */
export function indexRefusal(index: Buffer | null, paths: Iterable<string>, git: string, gitdir: string): IndexRefusal | null {
  if (index === null) return null;
  // git makes it again from HEAD; the work tree stays as it is
  const rewrite = `let git make it again (rm ${gitdir}/index && ${git} reset -q)`;
  if (index.length < HEADER + CHECKSUM || index.toString('latin1', 0, 4) !== 'DIRC') return { kind: 'unreadable', problem: 'the index is not one git wrote', fix: rewrite };
  const version = index.readUInt32BE(4);
  if (version !== 2 && version !== 3) {
    return { kind: 'layout', problem: `the index is in version ${version}, which gitstate does not write`, fix: `${git} config index.version 2 && ${git} update-index --index-version 2` };
  }
  const wanted = new Set(paths);
  const count = index.readUInt32BE(8);
  let offset = HEADER;
  for (let i = 0; i < count; i++) {
    const flags = offset + ENTRY_FIXED <= index.length - CHECKSUM ? index.readUInt16BE(offset + FLAGS_OFFSET) : 0;
    const extended = version === 3 && (flags & 0x4000) !== 0;
    const nameStart = offset + ENTRY_FIXED + (extended ? 2 : 0);
    const nameEnd = index.indexOf(0, nameStart);
    if (nameEnd < 0 || nameEnd > index.length - CHECKSUM) return { kind: 'unreadable', problem: 'the index ends before its last entry', fix: rewrite };
    if (extended && (index.readUInt16BE(offset + ENTRY_FIXED) & 0x4000) !== 0) {
      const path = index.toString('utf8', nameStart, nameEnd);
      if (wanted.has(path)) {
        return { kind: 'sparse', problem: `${path} is outside the sparse checkout (skip-worktree): gitstate edits the files in the work tree`, fix: `Bring it in (${git} sparse-checkout add /${path}, in a checkout without cone mode), or end the sparse checkout (${git} sparse-checkout disable)` };
      }
    }
    offset += Math.ceil((nameEnd - offset + 1) / 8) * 8;
  }
  while (offset + 8 <= index.length - CHECKSUM) {
    const signature = index.toString('latin1', offset, offset + 4);
    if (signature === 'link') {
      return { kind: 'layout', problem: 'the index is split (core.splitIndex): most of its entries are in a file gitstate does not read', fix: `${git} config core.splitIndex false && ${git} update-index --no-split-index` };
    }
    if (signature === 'sdir') {
      return { kind: 'sparse', problem: 'the index is a sparse index: folders in it stand for files gitstate cannot see', fix: `${git} sparse-checkout reapply --no-sparse-index` };
    }
    if (!/^[A-Z]/.test(signature)) return { kind: 'unreadable', problem: `the index has an extension ("${signature}") gitstate does not know and git requires readers to understand`, fix: rewrite };
    offset += 8 + index.readUInt32BE(offset + 4);
  }
  return null;
}

/** `indexRefusal` of the repository's index as it is on disk now (none yet: null). */
export function indexRefusalAt(dir: string, gitdir: string, paths: Iterable<string>): IndexRefusal | null {
  return indexRefusal(readIndexFile(gitdir), paths, `git -C ${dir}`, gitdir);
}

/** The index file's bytes, or null when there is none yet. */
export function readIndexFile(gitdir: string): Buffer | null {
  try {
    return readFileSync(join(gitdir, 'index'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
