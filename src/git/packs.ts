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
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { LooseObject } from './loose.js';
import { objectOid, type ObjectType } from './objects.js';

/** A version 2 pack index: its magic number, and where its fan-out table and sorted ids start. */
export const IDX_MAGIC = 0xff744f63;
const FANOUT = 8; // after the magic number and the version
export const IDX_IDS = FANOUT + 256 * 4;

/** The size of a version 2 index of `count` objects with 4-byte offsets: ids, CRCs, offsets, then the pack's checksum and its own. */
export function idxSize(count: number): number {
  return IDX_IDS + count * 28 + 40;
}
/** Packs up to this size are read here (gitstate's own, a pull's); larger ones (a clone's) are left to native git or isomorphic-git. */
const READ_LIMIT = 2 * 1024 * 1024;
/** Packs whose bytes are kept in memory at once. */
const KEPT_PACKS = 8;
const TYPES = ['', 'commit', 'tree', 'blob', 'tag'] as const;
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** The index of a pack in place (its name is its checksum; a repack writes `.tmp-*` files first). */
const PACK_INDEX = /^pack-[0-9a-f]{40}(?:[0-9a-f]{24})?\.idx$/;
/** Delta chains deeper than this go to isomorphic-git (git makes them 50 deep by default, 4095 at most): the resolution recurses. */
const MAX_DELTA_DEPTH = 500;
/** Objects kept resolved (a fetched pack's delta chains are up to 50 deep: git's default), and their bytes at most. */
const RESOLVED_KEPT = 1024;
const RESOLVED_BYTES = 16 * 1024 * 1024;

export class PackIndexes {
  private readonly indexes = new Map<string, Buffer>();
  /** Packs freshened since the last refresh. */
  private readonly freshened = new Set<string>();
  /** The bytes of packs read from (packs never change: kept while the pack is there). */
  private readonly packBytes = new Map<string, Buffer | null>();
  /** Objects read from packs lately, by pack and offset: a delta chain's bases serve the next object's chain. */
  private readonly resolved = new Map<string, LooseObject & { whole: boolean }>();
  private resolvedBytes = 0;
  /** Whether the pack folder was looked at yet. */
  private loaded = false;

  constructor(private readonly gitdir: string) {}

  /** Load the indexes of packs added since the last look; forget those gone. Whether the packs changed. */
  refresh(): boolean {
    this.loaded = true;
    let names: string[];
    try {
      // only packs in place: a repack writes `.tmp-<pid>-pack-<id>.idx` before renaming it
      names = readdirSync(join(this.gitdir, 'objects', 'pack')).filter((n) => PACK_INDEX.test(n));
    } catch {
      names = [];
    }
    this.freshened.clear();
    let changed = false;
    for (const name of this.indexes.keys()) {
      if (names.includes(name)) continue;
      changed = true;
      this.indexes.delete(name);
      this.packBytes.delete(name);
      for (const key of this.resolved.keys()) if (key.startsWith(`${name}:`)) this.resolved.delete(key);
    }
    for (const name of names) {
      if (this.indexes.has(name)) continue;
      try {
        const bytes = readFileSync(join(this.gitdir, 'objects', 'pack', name));
        // only version 2 (git's format since 1.5.2), and whole: ids, CRCs and offsets, then the two checksums
        // (an index still being written in place, as isomorphic-git writes one, is looked at again next time)
        const whole = bytes.length >= IDX_IDS && bytes.length >= idxSize(bytes.readUInt32BE(IDX_IDS - 4));
        if (whole && bytes.readUInt32BE(0) === IDX_MAGIC && bytes.readUInt32BE(4) === 2) {
          this.indexes.set(name, bytes);
          changed = true;
        }
      } catch {
        // a pack being written or removed right now: looked at again on the next refresh
      }
    }
    return changed;
  }

  has(oid: string): boolean {
    if (!this.loaded) this.refresh();
    if (this.indexes.size === 0) return false;
    const id = Buffer.from(oid, 'hex');
    for (const [name, idx] of this.indexes) {
      // its pack gone: perhaps another holds it
      if (position(idx, id) >= 0 && this.freshen(name)) return true;
    }
    return false;
  }

  /**
   * An object in a small pack: stored whole, as gitstate's packs hold them, or
   * as a delta against another object in the pack, as git's fetched packs hold
   * most commits and trees. Null otherwise (a pack past READ_LIMIT, a delta
   * whose result does not hash to `oid`): the caller asks isomorphic-git. A
   * write after a group commit, and a pull or merge reading what it fetched,
   * so never load isomorphic-git.
   */
  read(oid: string): LooseObject | null {
    const found = this.find(oid, 0);
    if (found || this.inPackInPlace(oid)) return found; // null: in a pack not read here (over 2 MiB)
    // In no pack we know: a repack (native `git gc`) may have moved it into a pack made since we
    // looked, and removed the pack or loose file it was in. Look again once, as git does.
    return this.refresh() ? this.find(oid, 0) : null;
  }

  /** Whether a known pack that is still there holds `oid`. */
  private inPackInPlace(oid: string): boolean {
    const id = Buffer.from(oid, 'hex');
    for (const [name, idx] of this.indexes) if (position(idx, id) >= 0 && existsSync(this.packOf(name))) return true;
    return false;
  }

  /** `read`, `depth` deltas down a chain (by-id bases included, so a corrupt pack cannot loop). */
  private find(oid: string, depth: number): LooseObject | null {
    if (!this.loaded) this.refresh();
    if (this.indexes.size === 0) return null;
    const id = Buffer.from(oid, 'hex');
    for (const [name, idx] of this.indexes) {
      const at = position(idx, id);
      if (at < 0) continue;
      const count = idx.readUInt32BE(IDX_IDS - 4);
      const offset = idx.readUInt32BE(IDX_IDS + count * 24 + at * 4);
      const pack = this.bytesOf(name);
      if (!pack || offset & 0x80000000 || offset >= pack.length) return null;
      const object = this.entryAt(name, pack, offset, depth);
      // a delta's result is checked against its id: a wrong answer is never returned
      return object && (object.whole || objectOid(object.type as ObjectType, object.content) === oid) ? { type: object.type, content: object.content } : null;
    }
    return null;
  }

  /** The object at `offset` of a pack, resolving deltas; null for what this does not read. */
  private entryAt(name: string, pack: Buffer, offset: number, depth: number): (LooseObject & { whole: boolean }) | null {
    const key = `${name}:${offset}`;
    const hit = this.resolved.get(key);
    if (hit) return hit;
    if (depth > MAX_DELTA_DEPTH) return null;
    let byte = pack[offset]!;
    const code = (byte >> 4) & 7;
    let size = byte & 0x0f;
    let shift = 4;
    let data = offset + 1;
    while (byte & 0x80) {
      byte = pack[data++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let object: (LooseObject & { whole: boolean }) | null;
    if (TYPES[code]) {
      const content = inflateEntry(pack, data);
      if (content.byteLength !== size) throw new Error(`an object at offset ${offset} of ${this.packOf(name)} is corrupt`);
      object = { type: TYPES[code]!, content, whole: true };
    } else if (code === OFS_DELTA || code === REF_DELTA) {
      let base: LooseObject | null;
      if (code === OFS_DELTA) {
        // the base's distance back: big-endian base-128, each continued byte adding one
        byte = pack[data++]!;
        let distance = byte & 0x7f;
        while (byte & 0x80) {
          byte = pack[data++]!;
          distance = (distance + 1) * 128 + (byte & 0x7f);
        }
        base = distance > 0 && distance <= offset ? this.entryAt(name, pack, offset - distance, depth + 1) : null;
      } else {
        base = this.find(pack.toString('hex', data, data + 20), depth + 1);
        data += 20;
      }
      const delta = base ? inflateEntry(pack, data) : null;
      const content = base && delta?.byteLength === size ? applyDelta(base.content, delta) : null;
      object = base && content ? { type: base.type, content, whole: false } : null;
    } else {
      object = null;
    }
    if (object) {
      if (this.resolved.size >= RESOLVED_KEPT || this.resolvedBytes > RESOLVED_BYTES) {
        this.resolved.clear();
        this.resolvedBytes = 0;
      }
      this.resolved.set(key, object);
      this.resolvedBytes += object.content.byteLength;
    }
    return object;
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

/** A pack entry's zlib stream from `at`: inflate stops at the stream's end, and the bytes after it are the next entries. */
function inflateEntry(pack: Buffer, at: number): Buffer {
  return inflateSync(pack.subarray(at, pack.length - 20));
}

/**
 * Git's delta format: the base's size and the result's (base-128, least
 * significant first), then instructions: copy a range of the base (bit 7 set;
 * bits 0-3 say which offset bytes follow, 4-6 which size bytes, a size of 0
 * meaning 0x10000), or insert the next 1-127 bytes. Null when the delta does
 * not fit its base.
 */
export function applyDelta(base: Buffer, delta: Buffer): Buffer | null {
  let at = 0;
  const size = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[at++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && at < delta.length);
    return value;
  };
  if (size() !== base.length) return null;
  const out = Buffer.alloc(size());
  let written = 0;
  while (at < delta.length) {
    const op = delta[at++]!;
    if (op & 0x80) {
      let from = 0;
      let length = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) from += delta[at++]! * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) length += delta[at++]! * 2 ** (8 * i);
      if (length === 0) length = 0x10000;
      if (at > delta.length || from + length > base.length || written + length > out.length) return null;
      base.copy(out, written, from, from + length);
      written += length;
    } else if (op > 0) {
      if (at + op > delta.length || written + op > out.length) return null;
      delta.copy(out, written, at, at + op);
      at += op;
      written += op;
    } else {
      return null; // reserved
    }
  }
  return written === out.length ? out : null;
}
