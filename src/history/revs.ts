/**
 * Revisions: a full or short commit id, HEAD, a branch or tag, each optionally
 * followed by `~N` (first parents) or `^N` (the Nth parent: `^2`, a merge's other side).
 */
import { NotFoundError } from '../errors.js';
import type { GitStore } from '../git/store.js';

const SHORT_OID = /^[0-9a-f]{4,40}$/;

export async function resolveRev(store: GitStore, rev: string): Promise<string> {
  const match = /^(.*?)((?:~\d*|\^\d*)*)$/.exec(rev.trim());
  const base = match?.[1] || 'HEAD';
  let oid = await resolveBase(store, base, rev);
  for (const step of (match?.[2] ?? '').match(/~\d*|\^\d*/g) ?? []) {
    if (step.startsWith('^')) {
      // ^N: the Nth parent (^2: a merge's other side), ^0: the commit itself
      const n = step === '^' ? 1 : Number(step.slice(1));
      if (n === 0) continue;
      const parent = (await store.readCommit(oid)).parents[n - 1];
      if (!parent) throw new NotFoundError(`revision ${rev} names a parent ${oid.slice(0, 12)} does not have`);
      oid = parent;
      continue;
    }
    const count = step === '~' ? 1 : Number(step.slice(1));
    for (let i = 0; i < count; i++) {
      const parent = (await store.readCommit(oid)).parents[0];
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
    const oid = await store.resolveRef(ref).catch(() => null);
    if (oid) return oid;
  }
  if (SHORT_OID.test(base)) {
    const oid = await store.expandOid(base).catch((err: unknown) => {
      if (/ambiguous/.test((err as Error).message)) throw new NotFoundError(`revision ${rev} is ambiguous; give more characters`);
      return null;
    });
    if (oid && (await store.readCommit(oid).then(() => true, () => false))) return oid; // must be a commit
  }
  throw new NotFoundError(`unknown revision ${rev}`);
}
