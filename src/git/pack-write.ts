/**
 * Writing packs: a group of commits published together stores its objects
 * in one pack (`objects/pack/pack-<checksum>.pack` and its `.idx`, version 2,
 * git's format since 1.5.2) instead of one loose file per object. Each object
 * of a group is then one entry of two files, made durable with two fsyncs and
 * one folder sync, where loose objects cost a file, an fsync and a folder sync
 * each (a group of eight writes makes 24 objects).
 *
 * gitstate's packs hold whole objects, never deltas, so packs of that kind can
 * be merged by copying their entries (`mergePacks`): small packs do not pile
 * up (see `compactPacks` in store.ts). Any other pack (a fetch's, a gc's) is
 * left to git.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import type { ObjectType } from './objects.js';
import { IDX_IDS, IDX_MAGIC, idxSize } from './packs.js';

/** Pack entry type numbers, as git's pack format numbers them. */
export const PACK_TYPES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3 };

export interface PackObject {
  oid: string;
  type: ObjectType;
  content: Uint8Array;
}

/** One entry of a pack: its object id and its bytes in the pack (header and deflated content). */
export interface PackEntry {
  oid: string;
  bytes: Uint8Array;
  /** CRC-32 of `bytes`, as the index records it. */
  crc: number;
}

export interface BuiltPack {
  /** The pack's checksum in hex: its files are `pack-<name>.pack` and `pack-<name>.idx`. */
  name: string;
  pack: Buffer;
  idx: Buffer;
}

/** The entry of one whole object: type and size header, then the zlib-deflated content. */
export function packEntry({ oid, type, content }: PackObject): PackEntry {
  // level 1, as git deflates loose objects (core.looseCompression): a group is written while writers wait
  const bytes = Buffer.concat([entryHeader(PACK_TYPES[type], content.byteLength), deflateSync(content, { level: 1 })]);
  return { oid, bytes, crc: crc32(bytes) };
}

/** A pack of these entries (each object once) and its index. */
export function buildPack(entries: readonly PackEntry[]): BuiltPack {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(entries.length, 8);
  const offsets: number[] = [];
  let offset = header.length;
  for (const entry of entries) {
    offsets.push(offset);
    offset += entry.bytes.byteLength;
  }
  const body = Buffer.concat([header, ...entries.map((e) => e.bytes)]);
  const checksum = createHash('sha1').update(body).digest();
  const pack = Buffer.concat([body, checksum]);
  return { name: checksum.toString('hex'), pack, idx: packIndex(entries, offsets, checksum) };
}

/**
 * Index version 2: magic and version, a fan-out table of 256 counts, the sorted
 * object ids, their CRC-32s, their 4-byte offsets (gitstate's packs are far
 * below the 2 GiB that would need the 8-byte table), the pack's checksum and
 * the index's own.
 */
function packIndex(entries: readonly PackEntry[], offsets: readonly number[], packChecksum: Buffer): Buffer {
  const order = entries.map((_, i) => i).sort((a, b) => (entries[a]!.oid < entries[b]!.oid ? -1 : 1));
  const n = entries.length;
  const out = Buffer.alloc(idxSize(n));
  out.writeUInt32BE(IDX_MAGIC, 0);
  out.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const entry of entries) fanout[parseInt(entry.oid.slice(0, 2), 16)]!++;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    out.writeUInt32BE(total, 8 + i * 4);
  }
  const ids = IDX_IDS;
  order.forEach((at, i) => {
    out.write(entries[at]!.oid, ids + i * 20, 20, 'hex');
    out.writeUInt32BE(entries[at]!.crc >>> 0, ids + n * 20 + i * 4);
    out.writeUInt32BE(offsets[at]!, ids + n * 24 + i * 4);
  });
  packChecksum.copy(out, ids + n * 28);
  createHash('sha1').update(out.subarray(0, out.length - 20)).digest().copy(out, out.length - 20);
  return out;
}

/**
 * The entries of a pack made only of whole objects (what gitstate writes), read
 * back through its index; null when it holds a delta or does not parse, so
 * that only packs which can be merged by copying are merged.
 */
export function wholeEntries(pack: Buffer, idx: Buffer): PackEntry[] | null {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK' || pack.readUInt32BE(4) !== 2) return null;
  if (idx.length < IDX_IDS || idx.readUInt32BE(0) !== IDX_MAGIC || idx.readUInt32BE(4) !== 2) return null;
  const n = idx.readUInt32BE(IDX_IDS - 4);
  if (n !== pack.readUInt32BE(8) || idx.length !== idxSize(n)) return null;
  // a damaged pack or index is never copied (and so never removed): its checksums and the index's copy of the pack's
  const trailer = pack.subarray(pack.length - 20);
  if (!createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest().equals(trailer)) return null;
  if (!idx.subarray(idx.length - 40, idx.length - 20).equals(trailer)) return null;
  if (!createHash('sha1').update(idx.subarray(0, idx.length - 20)).digest().equals(idx.subarray(idx.length - 20))) return null;
  const ids = IDX_IDS;
  const rows = Array.from({ length: n }, (_, i) => ({
    oid: idx.toString('hex', ids + i * 20, ids + i * 20 + 20),
    crc: idx.readUInt32BE(ids + n * 20 + i * 4),
    offset: idx.readUInt32BE(ids + n * 24 + i * 4),
  }));
  // large offsets (the MSB set) never occur in gitstate's packs
  if (rows.some((r) => r.offset & 0x80000000)) return null;
  const byOffset = [...rows].sort((a, b) => a.offset - b.offset);
  const end = pack.length - 20;
  const entries: PackEntry[] = [];
  for (let i = 0; i < byOffset.length; i++) {
    const { oid, crc, offset } = byOffset[i]!;
    const next = i + 1 < byOffset.length ? byOffset[i + 1]!.offset : end;
    if (offset < 12 || next > end || next <= offset) return null;
    const type = (pack[offset]! >> 4) & 7;
    if (type < 1 || type > 3) return null; // a delta (or a tag): not ours to copy
    const bytes = pack.subarray(offset, next);
    if (crc32(bytes) >>> 0 !== crc) return null;
    entries.push({ oid, bytes, crc });
  }
  return entries;
}

/** One pack holding every object of `packs` once (each a list of whole entries). */
export function mergePacks(packs: ReadonlyArray<readonly PackEntry[]>): BuiltPack {
  const seen = new Set<string>();
  const entries: PackEntry[] = [];
  for (const pack of packs) {
    for (const entry of pack) {
      if (seen.has(entry.oid)) continue;
      seen.add(entry.oid);
      entries.push(entry);
    }
  }
  return buildPack(entries);
}

/** The type and size header of a pack entry: type in bits 4-6 of the first byte, size in 4 bits then 7-bit groups. */
function entryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}
