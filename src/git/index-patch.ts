/**
 * Updating one index entry in place, so a write costs the same in a repository
 * of 10 files or 20,000.
 *
 * isomorphic-git's GitIndex re-sorts and re-serialises every entry on each
 * write (4 ms at 2,000 files). But an entry of a path that is already in the
 * index has a fixed-size record (stat data and object id), so a write of an
 * existing file only has to overwrite that record and the trailing checksum.
 * Anything else — a new or removed path, an index with extensions (a cache-tree
 * would go stale), another index version — is left to isomorphic-git.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { readFileSync, statSync } from 'node:fs';

const HEADER = 12;
const CHECKSUM = 20;
/** ctime, mtime (2 x 2 words), dev, ino, mode, uid, gid, size: 10 big-endian uint32 before the object id. */
const STAT_WORDS = 10;
const OID_OFFSET = STAT_WORDS * 4;
const FLAGS_OFFSET = OID_OFFSET + 20;
const ENTRY_FIXED = FLAGS_OFFSET + 2;

interface Parsed {
  /** Identity of the index file this was read from. */
  stamp: string;
  buffer: Buffer;
  /** Path -> offset of its stage-0 entry. */
  offsets: Map<string, number>;
}

/** What a patch overwrote: put back unless the patched index was written. */
interface Undo {
  offset: number;
  entry: Buffer;
  checksum: Buffer;
}

export class IndexPatcher {
  private parsed: Parsed | null = null;
  /** The patch last handed out and not yet confirmed written. */
  private unconfirmed: Undo | null = null;

  constructor(private readonly path: string) {}

  /**
   * The new index bytes with `path`'s entry pointing at `oid` with `stats`, or
   * null when this index cannot be patched in place (the caller falls back).
   * The bytes are the patcher's own buffer, patched in place (a copy of a large
   * index costs more than the patch): use them before the next call, and call
   * `written` once they are in the index file.
   */
  patch(path: string, oid: string, stats: BigIntStats): Buffer | null {
    const parsed = this.load();
    const offset = parsed?.offsets.get(path);
    if (!parsed || offset === undefined) return null;
    const buffer = parsed.buffer;
    this.unconfirmed = {
      offset,
      entry: Buffer.from(buffer.subarray(offset, offset + FLAGS_OFFSET)),
      checksum: Buffer.from(buffer.subarray(buffer.length - CHECKSUM)),
    };
    const billion = 1_000_000_000n;
    const words = [
      stats.ctimeNs / billion,
      stats.ctimeNs % billion,
      stats.mtimeNs / billion,
      stats.mtimeNs % billion,
      stats.dev,
      stats.ino,
      stats.mode,
      stats.uid,
      stats.gid,
      stats.size,
    ];
    // Git keeps the low 32 bits of each field.
    words.forEach((value, i) => buffer.writeUInt32BE(Number(value & 0xffffffffn), offset + i * 4));
    buffer.write(oid, offset + OID_OFFSET, 20, 'hex');
    createHash('sha1').update(buffer.subarray(0, buffer.length - CHECKSUM)).digest().copy(buffer, buffer.length - CHECKSUM);
    return buffer;
  }

  /** The patched bytes are the index file now: the next patch starts from them without re-reading. */
  written(buffer: Buffer): void {
    this.unconfirmed = null;
    if (this.parsed?.buffer === buffer) this.parsed.stamp = stampOf(this.path) ?? '';
  }

  forget(): void {
    this.parsed = null;
    this.unconfirmed = null;
  }

  private load(): Parsed | null {
    // A patch whose index was never written (the write failed or was abandoned) is undone first.
    const undo = this.unconfirmed;
    if (undo && this.parsed) {
      undo.entry.copy(this.parsed.buffer, undo.offset);
      undo.checksum.copy(this.parsed.buffer, this.parsed.buffer.length - CHECKSUM);
    }
    this.unconfirmed = null;
    const stamp = stampOf(this.path);
    if (stamp === null) return null;
    if (this.parsed?.stamp === stamp) return this.parsed;
    this.parsed = parse(readFileSync(this.path), stamp);
    return this.parsed;
  }
}

function stampOf(path: string): string | null {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

/** Offsets of the stage-0 entries of a version 2 index without extensions; null for anything else. */
function parse(buffer: Buffer, stamp: string): Parsed | null {
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
    const name = buffer.toString('utf8', offset + ENTRY_FIXED, nameEnd);
    if (((flags >> 12) & 3) === 0) offsets.set(name, offset);
    // Entries are padded with 1-8 NULs to a multiple of 8 bytes.
    const length = nameEnd - offset;
    offset += Math.ceil((length + 1) / 8) * 8;
  }
  // Extensions (cache-tree and others) would go stale under a patched entry.
  if (offset !== buffer.length - CHECKSUM) return null;
  return { stamp, buffer, offsets };
}
