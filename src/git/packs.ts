/**
 * Which objects the repository's packs hold, from their indexes (`.idx`
 * version 2: a magic number, a 256-entry fan-out table, then the sorted object
 * ids), read synchronously. The write path asks for each object it stages, so
 * it never writes a loose copy of one a fetch brought in a pack: a merge of
 * pulled commits takes their blobs and subtrees as they are, and would
 * otherwise write each again. Git does the same check before it writes.
 *
 * A pack's name is its checksum, so a loaded index never goes stale; `refresh`
 * picks up packs added since (a fetch, a gc) and drops those removed. A pack
 * relied on is freshened (its mtime set to now), as git does, so a concurrent
 * prune's grace period counts from this write; one that cannot be (its pack is
 * gone) counts as not holding the object.
 */
import { readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { LooseObject } from './loose.js';

/** A version 2 pack index: its magic number, and where its fan-out table and sorted ids start. */
export const IDX_MAGIC = 0xff744f63;
const FANOUT = 8; // after the magic number and the version
export const IDX_IDS = FANOUT + 256 * 4;
/** Packs up to this size are read here (gitstate's own, see pack-write.ts); larger ones (a clone's) are left to isomorphic-git. */
const READ_LIMIT = 2 * 1024 * 1024;
/** Packs whose bytes are kept in memory at once. */
const KEPT_PACKS = 8;
const TYPES = ['', 'commit', 'tree', 'blob', 'tag'] as const;

export class PackIndexes {
  private readonly indexes = new Map<string, Buffer>();
  /** Packs freshened since the last refresh. */
  private readonly freshened = new Set<string>();
  /** The bytes of packs read from (packs never change: kept while the pack is there). */
  private readonly packBytes = new Map<string, Buffer | null>();

  constructor(private readonly gitdir: string) {}

  /** Load the indexes of packs added since the last look; forget those gone. */
  refresh(): void {
    let names: string[];
    try {
      names = readdirSync(join(this.gitdir, 'objects', 'pack')).filter((n) => n.endsWith('.idx'));
    } catch {
      names = [];
    }
    this.freshened.clear();
    for (const name of this.indexes.keys()) {
      if (names.includes(name)) continue;
      this.indexes.delete(name);
      this.packBytes.delete(name);
    }
    for (const name of names) {
      if (this.indexes.has(name)) continue;
      try {
        const bytes = readFileSync(join(this.gitdir, 'objects', 'pack', name));
        // only version 2 (git's format since 1.5.2); anything else counts as holding nothing
        const whole = bytes.length >= IDX_IDS && bytes.length >= IDX_IDS + bytes.readUInt32BE(IDX_IDS - 4) * 20;
        if (whole && bytes.readUInt32BE(0) === IDX_MAGIC && bytes.readUInt32BE(4) === 2) this.indexes.set(name, bytes);
      } catch {
        // a pack being written or removed right now: looked at again on the next refresh
      }
    }
  }

  has(oid: string): boolean {
    if (this.indexes.size === 0) return false;
    const id = Buffer.from(oid, 'hex');
    for (const [name, idx] of this.indexes) {
      // its pack gone: perhaps another holds it
      if (position(idx, id) >= 0 && this.freshen(name)) return true;
    }
    return false;
  }

  /**
   * An object stored whole (not as a delta) in a small pack, as gitstate's
   * packs hold them; null otherwise (the caller asks isomorphic-git). A CLI
   * write after a group commit reads HEAD's commit and trees from its pack
   * without loading isomorphic-git.
   */
  read(oid: string): LooseObject | null {
    if (this.indexes.size === 0) return null;
    const id = Buffer.from(oid, 'hex');
    for (const [name, idx] of this.indexes) {
      const at = position(idx, id);
      if (at < 0) continue;
      const count = idx.readUInt32BE(IDX_IDS - 4);
      const offset = idx.readUInt32BE(IDX_IDS + count * 24 + at * 4);
      const pack = this.bytesOf(name);
      if (!pack || offset & 0x80000000 || offset >= pack.length) return null;
      let byte = pack[offset]!;
      const type = TYPES[(byte >> 4) & 7];
      if (!type) return null; // a delta: isomorphic-git resolves it
      let size = byte & 0x0f;
      let shift = 4;
      let data = offset + 1;
      while (byte & 0x80) {
        byte = pack[data++]!;
        size += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      }
      // inflate stops at the end of the entry's stream; the bytes after it are the next entries
      const content = inflateSync(pack.subarray(data, pack.length - 20));
      if (content.byteLength !== size) throw new Error(`object ${oid} is corrupt in ${this.packOf(name)}`);
      return { type, content };
    }
    return null;
  }

  private bytesOf(idxName: string): Buffer | null {
    if (!this.packBytes.has(idxName)) {
      let bytes: Buffer | null = null;
      try {
        const path = this.packOf(idxName);
        if (statSync(path).size <= READ_LIMIT) bytes = readFileSync(path);
      } catch {
        // removed meanwhile (a repack): the caller asks isomorphic-git, which looks again
      }
      // a long-lived process keeps the few it reads from, not every pack it ever touched
      if (this.packBytes.size >= KEPT_PACKS) this.packBytes.delete(this.packBytes.keys().next().value!);
      this.packBytes.set(idxName, bytes);
    }
    return this.packBytes.get(idxName)!;
  }

  private packOf(idxName: string): string {
    return join(this.gitdir, 'objects', 'pack', `${idxName.slice(0, -'.idx'.length)}.pack`);
  }

  /** Git's freshen_packed_object: true when the pack is still there to rely on. */
  private freshen(idxName: string): boolean {
    if (this.freshened.has(idxName)) return true;
    try {
      const now = new Date();
      utimesSync(this.packOf(idxName), now, now);
    } catch {
      return false; // the pack went (a repack): write the object loose after all
    }
    this.freshened.add(idxName);
    return true;
  }
}

/** The position of `id` in a version 2 index's sorted ids, or -1. */
function position(idx: Buffer, id: Buffer): number {
  const first = id[0]!;
  let lo = first === 0 ? 0 : idx.readUInt32BE(FANOUT + (first - 1) * 4);
  let hi = idx.readUInt32BE(FANOUT + first * 4);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const order = idx.compare(id, 0, 20, IDX_IDS + mid * 20, IDX_IDS + mid * 20 + 20);
    if (order === 0) return mid;
    if (order > 0) hi = mid;
    else lo = mid + 1;
  }
  return -1;
}
