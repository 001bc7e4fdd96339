/**
 * Git's loose-object format for the few objects a write makes: a blob, the
 * trees on its path, a commit. Each is `<type> <size>\0<content>`, named by its
 * SHA-1 and stored zlib-deflated.
 *
 * isomorphic-git writes objects through the web CompressionStream and
 * crypto.subtle when Node has them (it picks them itself), which costs a
 * thread-pool round trip per object. node:zlib and node:crypto do the same
 * work synchronously in microseconds, so the write path encodes here and
 * isomorphic-git reads what it wrote (test/git/objects.test.ts checks the
 * bytes against native git's).
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

export type ObjectType = 'blob' | 'tree' | 'commit';

export interface TreeEntry {
  /** '100644', '100755', '120000', '040000' (a tree) or '160000' (a submodule). */
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes, signed as JavaScript's getTimezoneOffset() (positive west of UTC). */
  timezoneOffset: number;
}

export interface CommitFields {
  tree: string;
  parents: readonly string[];
  author: Signature;
  committer: Signature;
  message: string;
}

export interface EncodedObject {
  oid: string;
  /** The deflated object, as it is stored under objects/xx/. */
  deflated: Buffer;
}

export function encodeObject(type: ObjectType, content: Uint8Array): EncodedObject {
  const wrapped = Buffer.concat([Buffer.from(`${type} ${content.byteLength}\0`), content]);
  return { oid: createHash('sha1').update(wrapped).digest('hex'), deflated: deflateSync(wrapped) };
}

/** The id `content` has as a blob, without encoding it. */
export function blobOid(content: Uint8Array): string {
  return objectOid('blob', content);
}

/** The id of an object of `type` holding `content`, without encoding it. */
export function objectOid(type: ObjectType, content: Uint8Array): string {
  return createHash('sha1').update(`${type} ${content.byteLength}\0`).update(content).digest('hex');
}

/** A tree's content: entries in git's order (a tree sorts as if its name ended in `/`). */
export function treeContent(entries: readonly TreeEntry[]): Buffer {
  const sortKey = (e: TreeEntry) => (e.type === 'tree' ? `${e.path}/` : e.path);
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(sortKey(a)), Buffer.from(sortKey(b))));
  const parts: Buffer[] = [];
  for (const entry of sorted) {
    // git writes a tree's mode without its leading zero
    const mode = entry.mode.replace(/^0+/, '');
    parts.push(Buffer.from(`${mode} ${entry.path}\0`), Buffer.from(entry.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

export function commitContent(commit: CommitFields): Buffer {
  const lines = [`tree ${commit.tree}`, ...commit.parents.map((p) => `parent ${p}`), `author ${signatureText(commit.author)}`, `committer ${signatureText(commit.committer)}`];
  return Buffer.from(`${lines.join('\n')}\n\n${commit.message}`);
}

function signatureText(s: Signature): string {
  const offset = -s.timezoneOffset;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${s.name} <${s.email}> ${s.timestamp} ${zone}`;
}
