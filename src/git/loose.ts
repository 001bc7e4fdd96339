/**
 * Reading loose objects directly (zlib-inflated `<type> <size>\0<content>`
 * under objects/xx/): the commits and trees a write walks are nearly always
 * loose, and reading them here spares a CLI write loading isomorphic-git (a
 * 580 KB bundle) and a thread-pool round trip per object. Anything else (an
 * object in a pack) returns null, and the caller asks isomorphic-git.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { ObjectType, TreeEntry } from './objects.js';

export interface LooseObject {
  type: ObjectType | 'tag';
  content: Buffer;
}

export function readLoose(gitdir: string, oid: string): LooseObject | null {
  let deflated: Buffer;
  try {
    deflated = readFileSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)));
  } catch {
    return null;
  }
  const raw = inflateSync(deflated);
  const nul = raw.indexOf(0);
  const [type, size] = raw.toString('latin1', 0, nul).split(' ');
  const content = raw.subarray(nul + 1);
  if (Number(size) !== content.byteLength) throw new Error(`object ${oid} is corrupt (its header says ${size} bytes, it holds ${content.byteLength})`);
  return { type: type as LooseObject['type'], content };
}

/** A tree object's entries, in stored order. */
export function parseTree(content: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, space);
    const mode = content.toString('latin1', at, space).padStart(6, '0');
    const path = content.toString('utf8', space + 1, nul);
    const oid = content.toString('hex', nul + 1, nul + 21);
    const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    entries.push({ mode, path, oid, type });
    at = nul + 21;
  }
  return entries;
}

/** The tree a commit object names (its first header line). */
export function commitTree(content: Buffer): string {
  const line = content.toString('latin1', 0, content.indexOf(0x0a));
  if (!line.startsWith('tree ')) throw new Error('commit object has no tree');
  return line.slice(5);
}
