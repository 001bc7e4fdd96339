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

export interface ParsedCommit {
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  message: string;
}

export interface Signature {
  name: string;
  email: string;
  timestamp: number;
  /** Minutes, signed as JavaScript's getTimezoneOffset (+0100 is -60), as isomorphic-git gives it. */
  timezoneOffset: number;
}

/**
 * A commit object read as git reads it: the tree on the first line, the parent
 * lines right after it, the first author and committer. Null for anything
 * unusual (no author, a malformed signature): the caller asks isomorphic-git.
 */
export function parseCommit(content: Buffer): ParsedCommit | null {
  const text = content.toString('utf8');
  const end = text.indexOf('\n\n');
  const headers = (end < 0 ? text : text.slice(0, end)).split('\n');
  if (!headers[0]?.startsWith('tree ')) return null;
  const parents: string[] = [];
  let at = 1;
  for (; headers[at]?.startsWith('parent '); at++) parents.push(headers[at]!.slice(7));
  const author = signature(headers.slice(at).find((h) => h.startsWith('author ')));
  const committer = signature(headers.slice(at).find((h) => h.startsWith('committer ')));
  if (!author || !committer) return null;
  // the message as isomorphic-git normalizes it: no CR, no leading blank lines, one final newline
  const message = `${(end < 0 ? '' : text.slice(end + 2)).replace(/\r/g, '').replace(/^\n+/, '').replace(/\n+$/, '')}\n`;
  return { tree: headers[0].slice(5), parents, author, committer, message };
}

function signature(header: string | undefined): Signature | null {
  const m = header ? /^\S+ (.*) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$/.exec(header) : null;
  if (!m) return null;
  // isomorphic-git's sign: +0100 is -60, and -0000 stays -0 (git writes it back as -0000)
  const minutes = (m[4] === '+' ? 1 : -1) * (Number(m[5]) * 60 + Number(m[6]));
  return { name: m[1]!, email: m[2]!, timestamp: Number(m[3]), timezoneOffset: minutes === 0 ? minutes : -minutes };
}
