/**
 * Revisions: a full or short commit id, HEAD, a branch or tag, each optionally
 * followed by `~N` or `^` (first parents).
 */
import { git } from '../git/iso.js';
import { NotFoundError } from '../errors.js';
import type { GitStore } from '../git/store.js';

const SHORT_OID = /^[0-9a-f]{4,40}$/;

export async function resolveRev(store: GitStore, rev: string): Promise<string> {
  const match = /^(.*?)((?:~\d*|\^)*)$/.exec(rev.trim());
  const base = match?.[1] || 'HEAD';
  let oid = await resolveBase(store, base, rev);
  for (const step of (match?.[2] ?? '').match(/~\d*|\^/g) ?? []) {
    const count = step === '^' || step === '~' ? 1 : Number(step.slice(1));
    for (let i = 0; i < count; i++) {
      const { commit } = await git.readCommit({ fs: store.fs, gitdir: store.gitdir, oid, cache: store.cache });
      const parent = commit.parent[0];
      if (!parent) throw new NotFoundError(`revision ${rev} goes back past the first commit`);
      oid = parent;
    }
  }
  return oid;
}

async function resolveBase(store: GitStore, base: string, rev: string): Promise<string> {
  if (base === 'HEAD') {
    const head = await store.headOid();
    if (!head) throw new NotFoundError('the repository has no commits yet');
    return head;
  }
  for (const ref of [base, `refs/heads/${base}`, `refs/tags/${base}`, `refs/remotes/${base}`]) {
    try {
      return await git.resolveRef({ fs: store.fs, gitdir: store.gitdir, ref });
    } catch {
      // try the next form
    }
  }
  if (SHORT_OID.test(base)) {
    try {
      const oid = await git.expandOid({ fs: store.fs, gitdir: store.gitdir, oid: base, cache: store.cache });
      await git.readCommit({ fs: store.fs, gitdir: store.gitdir, oid, cache: store.cache }); // must be a commit
      return oid;
    } catch (err) {
      if ((err as { code?: string }).code === 'AmbiguousError') throw new NotFoundError(`revision ${rev} is ambiguous; give more characters`);
    }
  }
  throw new NotFoundError(`unknown revision ${rev}`);
}
