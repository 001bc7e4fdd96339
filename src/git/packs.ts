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
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = 0xff744f63;
const FANOUT = 8; // after the magic number and the version
const IDS = FANOUT + 256 * 4;

export class PackIndexes {
  private readonly indexes = new Map<string, Buffer>();
  /** Packs freshened since the last refresh. */
  private readonly freshened = new Set<string>();

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
    for (const name of this.indexes.keys()) if (!names.includes(name)) this.indexes.delete(name);
    for (const name of names) {
      if (this.indexes.has(name)) continue;
      try {
        const bytes = readFileSync(join(this.gitdir, 'objects', 'pack', name));
        // only version 2 (git's format since 1.5.2); anything else counts as holding nothing
        const whole = bytes.length >= IDS && bytes.length >= IDS + bytes.readUInt32BE(IDS - 4) * 20;
        if (whole && bytes.readUInt32BE(0) === MAGIC && bytes.readUInt32BE(4) === 2) this.indexes.set(name, bytes);
      } catch {
        // a pack being written or removed right now: looked at again on the next refresh
      }
    }
  }

  has(oid: string): boolean {
    if (this.indexes.size === 0) return false;
    const id = Buffer.from(oid, 'hex');
    const first = id[0]!;
    for (const [name, idx] of this.indexes) {
      let lo = first === 0 ? 0 : idx.readUInt32BE(FANOUT + (first - 1) * 4);
      let hi = idx.readUInt32BE(FANOUT + first * 4);
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const order = idx.compare(id, 0, 20, IDS + mid * 20, IDS + mid * 20 + 20);
        if (order === 0) {
          if (this.freshen(name)) return true;
          break; // its pack is gone: perhaps another holds it
        }
        if (order > 0) hi = mid;
        else lo = mid + 1;
      }
    }
    return false;
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
