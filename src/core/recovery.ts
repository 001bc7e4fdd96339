/**
 * Putting right what an interrupted publication left (a crash, a kill, power
 * loss). Its journal names every path it was changing, with the blob before and
 * after. Whatever the branch points at now is the truth: a journaled file whose
 * bytes are the before or after version is made HEAD's version, and its index
 * entry points at HEAD's blob. A file with other bytes was edited since, by hand
 * or by another tool: it is left as it is, and its index entry is marked for
 * git to look at again, so `git status` shows the edit. A group's pack is
 * released to git's gc (its .keep removed), or removed when it was placed
 * without its index.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packBase, resetWorkTree, type PublishOptions } from '../git/stage.js';
import type { GitStore } from '../git/store.js';
import type { HeldLock } from './lock.js';

export interface RecoveryReport {
  /** Paths an interrupted write had changed that were put back to HEAD. */
  restored: string[];
  /** Paths whose index entry was brought up to HEAD. */
  reindexed: string[];
}

export async function recoverInterrupted(store: GitStore, lock: HeldLock, options: PublishOptions): Promise<RecoveryReport> {
  const report: RecoveryReport = { restored: [], reindexed: [] };
  const journal = store.readJournal();
  // a holder that died leaves temp files of its stages
  if (lock.tookOver) store.sweepTemps();
  if (!journal) return report;
  if (journal.pack && /^[0-9a-f]{40}$/.test(journal.pack)) {
    // the .keep that held its pack back from git's gc, and a pack placed without its index
    const base = packBase(store.gitdir, journal.pack);
    rmSync(`${base}.keep`, { force: true });
    if (!existsSync(`${base}.idx`)) rmSync(`${base}.pack`, { force: true });
  }
  const head = await store.headOid();
  const entries: Array<{ path: string; blob: string | null; rewrite: boolean; trustDisk: boolean }> = [];
  for (const { path, before, after } of journal.files) {
    const atHead = await store.blobOidAt(head, path);
    let onDisk: string | null = null;
    try {
      onDisk = store.hashBlob(readFileSync(join(store.dir, path)));
    } catch {
      // absent
    }
    const ours = onDisk === before || onDisk === after;
    const rewrite = ours && onDisk !== atHead;
    entries.push({ path, blob: atHead, rewrite, trustDisk: ours || onDisk === atHead });
    if (rewrite) report.restored.push(path);
    report.reindexed.push(path);
  }
  await resetWorkTree(store, entries, options);
  store.clearJournal();
  return report;
}
