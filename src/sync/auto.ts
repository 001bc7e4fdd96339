/**
 * Auto-sync: with `auto: true` in `.gitstate/sync.yaml` and a remote, every
 * write from the CLI or an MCP tool leaves a background `gitstate sync
 * --auto`. Writes never wait for the network: the background process waits
 * until writes have been quiet for `auto_delay_ms` (default 5 s), syncs, and
 * goes again if more writes came meanwhile. One such process runs at a time;
 * a failed sync is recorded for `status` and retried on the next write (and at
 * session start/end, by the session hooks).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateRepo } from '../core/repo.js';
import { readSyncSettings, type SyncSettings } from './merge.js';
import { sync } from './sync.js';

export const DEFAULT_AUTO_DELAY_MS = 5000;
/** The longest quiet period auto-sync waits for (the schema of .gitstate/sync.yaml allows no more). */
export const MAX_AUTO_DELAY_MS = 3_600_000;

function marker(repo: StateRepo): string {
  return join(repo.gitdir, 'gitstate', 'last-write');
}

/**
 * The quiet period to wait for, as a timer can hold it (past 2^31 ms Node fires at once, and the
 * loop would spin): the file is read unchecked here, and the sync checks it.
 */
export function autoDelay(settings: SyncSettings): number {
  const asked = settings.auto_delay_ms;
  return typeof asked === 'number' && Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_AUTO_DELAY_MS) : DEFAULT_AUTO_DELAY_MS;
}

/** Called after a write: note its time and, if auto-sync is on, make sure a background syncer runs. */
export async function afterWrite(repo: StateRepo, cliPath: string): Promise<boolean> {
  // read unchecked on every write (no schema loaded); `true` alone turns it on, the sync itself checks the rest
  const settings = await readSyncSettings(repo.dir);
  if (settings.auto !== true) return false;
  const store = await repo.store();
  if (!(await store.getConfig('remote.origin.url'))) return false;
  mkdirSync(join(repo.gitdir, 'gitstate'), { recursive: true });
  const now = new Date();
  try {
    utimesSync(marker(repo), now, now);
  } catch {
    writeFileSync(marker(repo), '');
  }
  const child = spawn(process.execPath, [cliPath, '--dir', repo.dir, '--quiet', 'sync', '--auto'], { detached: true, stdio: 'ignore' });
  child.unref();
  return true;
}

/** The background syncer: one at a time; waits for quiet, syncs, repeats while writes keep coming. */
export async function runAutoSync(repo: StateRepo): Promise<void> {
  const settings = await readSyncSettings(repo.dir);
  const delay = autoDelay(settings);
  const lock = join(repo.gitdir, 'gitstate', 'autosync.lock');
  try {
    mkdirSync(lock);
  } catch {
    // Another syncer runs: it waits for quiet after the latest write, so it takes ours along.
    if (Date.now() - statSync(lock).mtimeMs < 10 * 60_000) return;
    rmdirSync(lock); // left by a syncer that died long ago
    mkdirSync(lock);
  }
  try {
    for (;;) {
      const lastWrite = statSync(marker(repo)).mtimeMs;
      const quietFor = Date.now() - lastWrite;
      if (quietFor < delay) {
        await new Promise((r) => setTimeout(r, delay - quietFor));
        continue;
      }
      await sync(repo).catch(() => undefined); // recorded in sync.json for status; retried on the next write
      if (statSync(marker(repo)).mtimeMs === lastWrite) return;
    }
  } finally {
    rmdirSync(lock);
  }
}
