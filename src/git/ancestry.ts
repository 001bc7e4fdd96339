/**
 * Questions about the commit graph that `pull` and `sync` ask: is one commit an
 * ancestor of another, and where did two histories part. isomorphic-git reads
 * every commit it walks (~0.2 ms each) and walks far: `isDescendent` the whole
 * history when the answer is no, `findMergeBase` both histories down to the root.
 * Native `git merge-base` answers from any history in a few ms. So native git
 * when it is installed, isomorphic-git otherwise.
 */
import { execFile } from 'node:child_process';
import type { GitStore } from './store.js';

export async function isAncestor(store: GitStore, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  const native = await nativeIsAncestor(store.gitdir, ancestor, descendant);
  if (native !== null) return native;
  return store.isDescendent(descendant, ancestor);
}

/** A best common ancestor of two commits (one, as `git merge-base` picks it), or null when the histories share none. */
export async function mergeBase(store: GitStore, a: string, b: string): Promise<string | null> {
  const native = await mergeBaseOf(store.gitdir, [a, b]);
  if (native.answered) return native.stdout || null;
  return store.findMergeBase(a, b);
}

/** git's answer, or null when git is missing or cannot answer (then the caller walks itself). */
async function nativeIsAncestor(gitdir: string, ancestor: string, descendant: string): Promise<boolean | null> {
  const { answered, code } = await mergeBaseOf(gitdir, ['--is-ancestor', ancestor, descendant]);
  return answered ? code === 0 : null;
}

/**
 * `git merge-base ARGS`. Exit 0 and 1 are answers (1: "no" / "no common
 * ancestor"); anything else (git missing, an object it cannot read) is not.
 */
function mergeBaseOf(gitdir: string, args: string[]): Promise<{ answered: boolean; code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', [`--git-dir=${gitdir}`, 'merge-base', ...args], { encoding: 'utf8' }, (err, stdout) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ answered: code === 0 || code === 1, code: typeof code === 'number' ? code : -1, stdout: stdout.trim() });
    });
  });
}
