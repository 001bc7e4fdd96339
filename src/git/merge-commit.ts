/**
 * A merge commit made as objects only, for sync to fast-forward onto with
 * `StateRepo.advance` (which moves the branch, the work tree and the index
 * under the lock, or throws BranchMovedError). Sync checks the merged content
 * itself: a secret that one of the parents already holds passes, where a
 * plain write would refuse it.
 *
 * Objects are written durably (temp file, fsync, rename) before anything
 * points at them; an object that exists is left alone.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { commitContent, encodeObject, treeContent, type ObjectType, type Signature, type TreeEntry } from './objects.js';
import type { GitStore } from './store.js';

export interface MergeCommitRequest {
  parents: readonly string[];
  /** Files as they are in the merge, relative to the first parent (content null: removed). */
  changes: ReadonlyArray<{ path: string; content: Uint8Array | null }>;
  author: Signature;
  message: string;
}

/** Write the merge commit; returns it with the blob of every changed path (null: removed). */
export async function writeMergeCommit(store: GitStore, request: MergeCommitRequest): Promise<{ commit: string; changed: Record<string, string | null> }> {
  const changed: Record<string, string | null> = {};
  for (const change of request.changes) changed[change.path] = change.content ? put(store, 'blob', change.content) : null;
  const baseTree = await store.treeOf(request.parents[0]!);
  const tree = (await buildTree(store, baseTree, Object.entries(changed))) ?? put(store, 'tree', treeContent([]));
  const commit = put(store, 'commit', commitContent({ tree, parents: request.parents, author: request.author, committer: request.author, message: request.message }));
  return { commit, changed };
}

/** The tree `base` with `changes` (path relative to it -> blob, null: removed); null when it ends up empty. */
async function buildTree(store: GitStore, base: string | null, changes: Array<[string, string | null]>): Promise<string | null> {
  const entries: TreeEntry[] = base ? [...(await store.readTree(base))] : [];
  const below = new Map<string, Array<[string, string | null]>>();
  for (const [path, blob] of changes) {
    const slash = path.indexOf('/');
    if (slash >= 0) {
      const name = path.slice(0, slash);
      below.set(name, [...(below.get(name) ?? []), [path.slice(slash + 1), blob]]);
      continue;
    }
    const at = entries.findIndex((e) => e.path === path);
    if (at >= 0) entries.splice(at, 1);
    if (blob) entries.push({ mode: '100644', path, oid: blob, type: 'blob' });
  }
  for (const [name, sub] of below) {
    const at = entries.findIndex((e) => e.path === name);
    const existing = at >= 0 ? entries[at]! : undefined;
    const tree = await buildTree(store, existing?.type === 'tree' ? existing.oid : null, sub);
    if (at >= 0) entries.splice(at, 1);
    if (tree) entries.push({ mode: '040000', path: name, oid: tree, type: 'tree' });
  }
  return entries.length > 0 ? put(store, 'tree', treeContent(entries)) : null;
}

function put(store: GitStore, type: ObjectType, content: Uint8Array): string {
  const { oid, deflated } = encodeObject(type, content);
  const dir = join(store.gitdir, 'objects', oid.slice(0, 2));
  const file = join(dir, oid.slice(2));
  if (existsSync(file)) return oid;
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `tmp_obj_gitstate_${process.pid}_${oid.slice(2, 10)}`);
  const fd = openSync(temp, 'w', 0o444);
  try {
    writeSync(fd, deflated);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return oid;
}
