/**
 * Updating index entries without rebuilding the index, so a write costs the
 * same in a repository of 10 files or 20,000.
 *
 * isomorphic-git's GitIndex re-sorts and re-serialises every entry on each
 * write. But the entry of a path already in the index has a fixed-size record
 * (stat data and object id), so rewriting an existing file only changes that
 * record and the trailing checksum. Anything else (a new or removed path, an
 * index with extensions, whose cache-tree would go stale, another index
 * version) returns null and is left to isomorphic-git.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';

const HEADER = 12;
const CHECKSUM = 20;
/** ctime, mtime (2 x 2 words), dev, ino, mode, uid, gid, size: 10 big-endian uint32 before the object id. */
const STAT_WORDS = 10;
const OID_OFFSET = STAT_WORDS * 4;
const FLAGS_OFFSET = OID_OFFSET + 20;
const ENTRY_FIXED = FLAGS_OFFSET + 2;

export interface EntryUpdate {
  path: string;
  oid: string;
  stats: BigIntStats;
}

/** A copy of `index` with each update's entry rewritten, or null when that cannot be done in place. */
export function patchIndex(index: Buffer, updates: readonly EntryUpdate[]): Buffer | null {
  const offsets = entryOffsets(index);
  if (!offsets) return null;
  const out = Buffer.from(index);
  for (const { path, oid, stats } of updates) {
    const offset = offsets.get(path);
    if (offset === undefined) return null;
    const billion = 1_000_000_000n;
    const words = [stats.ctimeNs / billion, stats.ctimeNs % billion, stats.mtimeNs / billion, stats.mtimeNs % billion, stats.dev, stats.ino, stats.mode, stats.uid, stats.gid, stats.size];
    // git keeps the low 32 bits of each field
    words.forEach((value, i) => out.writeUInt32BE(Number(value & 0xffffffffn), offset + i * 4));
    out.write(oid, offset + OID_OFFSET, 20, 'hex');
  }
  createHash('sha1').update(out.subarray(0, out.length - CHECKSUM)).digest().copy(out, out.length - CHECKSUM);
  return out;
}

/** Offsets of the stage-0 entries of a version 2 index without extensions; null for anything else. */
function entryOffsets(buffer: Buffer): Map<string, number> | null {
  if (buffer.length < HEADER + CHECKSUM || buffer.toString('latin1', 0, 4) !== 'DIRC') return null;
  if (buffer.readUInt32BE(4) !== 2) return null;
  const count = buffer.readUInt32BE(8);
  const offsets = new Map<string, number>();
  let offset = HEADER;
  for (let i = 0; i < count; i++) {
    if (offset + ENTRY_FIXED > buffer.length - CHECKSUM) return null;
    const flags = buffer.readUInt16BE(offset + FLAGS_OFFSET);
    const nameEnd = buffer.indexOf(0, offset + ENTRY_FIXED);
    if (nameEnd < 0) return null;
    if (((flags >> 12) & 3) === 0) offsets.set(buffer.toString('utf8', offset + ENTRY_FIXED, nameEnd), offset);
    // entries are padded with 1-8 NULs to a multiple of 8 bytes
    offset += Math.ceil((nameEnd - offset + 1) / 8) * 8;
  }
  if (offset !== buffer.length - CHECKSUM) return null;
  return offsets;
}
