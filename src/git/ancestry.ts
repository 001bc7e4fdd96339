/**
 * Whether one commit is an ancestor of another, as `pull` asks before it
 * fast-forwards. isomorphic-git's isDescendent reads every commit it walks
 * (~0.2 ms each) and, when the answer is no, walks the whole history; native
 * `git merge-base --is-ancestor` answers from any history in a few ms. So native
 * git when it is installed, isomorphic-git otherwise.
 */
import { execFile } from 'node:child_process';
import { git } from './iso.js';
import type { GitStore } from './store.js';

export async function isAncestor(store: GitStore, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  const native = await nativeIsAncestor(store.gitdir, ancestor, descendant);
  if (native !== null) return native;
  return git.isDescendent({ fs: store.fs, gitdir: store.gitdir, oid: descendant, ancestor, depth: -1, cache: store.cache });
}

/** git's answer, or null when git is missing or cannot answer (then the caller walks itself). */
function nativeIsAncestor(gitdir: string, ancestor: string, descendant: string): Promise<boolean | null> {
  return new Promise((resolve) => {
    execFile('git', [`--git-dir=${gitdir}`, 'merge-base', '--is-ancestor', ancestor, descendant], (err) => {
      if (!err) return resolve(true);
      resolve((err as { code?: unknown }).code === 1 ? false : null);
    });
  });
}
