/**
 * Where a secret came from: the commit that added it to a file (its version
 * holds the secret, none of its parents' versions do), found by walking
 * history newest first. Used to report a secret that is already there (a
 * write that kept it, `status`) without ever showing its value.
 */
import type { GitStore } from '../git/store.js';
import { HistoryIndex } from '../history/index-file.js';
import { scanFile } from './file-scan.js';
import { scanLine } from './scan.js';
import type { SecretReport } from './report.js';

export type { SecretReport } from './report.js';
import type { HeldSecret } from './guard.js';

/** Reports for `held` (found at `head` or in a commit on it), each with the commit that added it. */
export async function reportHeld(store: GitStore, head: string | null, held: readonly HeldSecret[]): Promise<SecretReport[]> {
  if (held.length === 0 || !head) return held.map((h) => report(h, null));
  const finder = new OriginFinder(store);
  const out: SecretReport[] = [];
  const seen = new Set<string>();
  for (const h of held) {
    const key = `${h.path}\0${h.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(report(h, await finder.origin(head, h)));
  }
  return out;
}

function report(h: HeldSecret, commit: string | null): SecretReport {
  return { file: h.file, where: h.where, rule: h.rule, fingerprint: h.fingerprint, commit };
}

class OriginFinder {
  private index: HistoryIndex | null = null;
  /** blob id -> ids of the secrets in it */
  private readonly scanned = new Map<string, Set<string>>();

  constructor(private readonly store: GitStore) {}

  async origin(head: string, held: HeldSecret): Promise<string | null> {
    if (!this.index) {
      this.index = new HistoryIndex(this.store);
      await this.index.update(head);
    }
    const byName = held.where === 'file name';
    const holds = async (commit: string): Promise<boolean> => {
      const blob = await this.store.blobOidAt(commit, held.path);
      if (!blob) return false;
      if (byName) return scanLine(held.path).some((f) => f.id === held.id);
      return (await this.idsIn(blob, held.path)).has(held.id);
    };
    for (const record of this.index.walk(head)) {
      if (!(held.path in record.f) && record.p.length < 2) continue;
      if (!(await holds(record.c))) continue;
      let inParent = false;
      for (const parent of record.p) if (!inParent && (await holds(parent))) inParent = true;
      if (!inParent) return record.c;
    }
    return null;
  }

  private async idsIn(blob: string, path: string): Promise<Set<string>> {
    let ids = this.scanned.get(blob);
    if (!ids) {
      ids = new Set(scanFile(path, await this.store.readBlob(blob)).map((f) => f.id));
      this.scanned.set(blob, ids);
    }
    return ids;
  }
}
