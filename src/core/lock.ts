/**
 * The repository write lock: one across processes (proper-lockfile, a directory
 * `.git/gitstate.lock` whose mtime is refreshed while held and which is taken
 * over once stale), and one within a process (a promise chain), since
 * proper-lockfile is not re-entrant.
 *
 * When an operation ends and the process has already started another on the
 * same repository (a loop of writes, queued requests), the lock passes straight
 * to it: taking it costs a directory made and removed, which on some disks is a
 * tenth of a write. Otherwise it is released before the event loop turns. It is
 * released after every operation while another process is waiting for it (see
 * WANTED_FILE), as if it were never passed on, and after MAX_LEASE_MS in any
 * case. A process that exits while holding it removes it on exit
 * (proper-lockfile's exit handler).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { LockError } from '../errors.js';

export interface LockOptions {
  /** How long to wait for the lock before giving up with exit 5. */
  timeoutMs?: number;
  /** A lock whose holder stopped refreshing it for this long is taken over. */
  staleMs?: number;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;
export const DEFAULT_STALE_MS = 5_000;
export const LOCK_DIR = 'gitstate.lock';

export interface HeldLock {
  /** Throws if another process took the lock over while we held it. */
  assertHeld(): void;
  /** Held without a break since this process's previous operation on the repository ended. */
  readonly continued: boolean;
}

const chains = new Map<string, Promise<unknown>>();

/** One acquisition of the lock, possibly carried through several operations. */
interface Lease {
  release: () => Promise<void>;
  compromised: Error | null;
  /** When it was taken (ms since the epoch). */
  since: number;
}

/**
 * A lease an operation has finished with, kept until the event loop turns: an
 * operation this process has already started (the next write of a loop, a
 * queued request) takes it over instead of releasing and retaking the lock.
 */
const kept = new Map<string, { lease: Lease; timer: NodeJS.Immediate }>();
/** A lease passed on for this long is released after the operation holding it, so other processes get their turn. */
const MAX_LEASE_MS = 100;
/**
 * How long a waiter's last try counts as "waiting": longer than its longest pause
 * between tries (see acquire), so the holder keeps releasing after each operation
 * for as long as someone keeps trying.
 */
const WAITING_MS = 50;

/** Run `fn` holding the repository lock of `gitdir`. */
export async function withRepoLock<T>(gitdir: string, options: LockOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const previous = chains.get(gitdir) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => holdAndRun(gitdir, options, fn));
  const tail = run.catch(() => undefined);
  chains.set(gitdir, tail);
  try {
    return await run;
  } finally {
    if (chains.get(gitdir) === tail) chains.delete(gitdir);
  }
}

async function holdAndRun<T>(gitdir: string, options: LockOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const passedOn = takeKept(gitdir);
  const lease = passedOn ?? (await acquireLease(gitdir, options));
  const held: HeldLock = {
    continued: passedOn !== null,
    assertHeld() {
      if (lease.compromised) throw new LockError(`the repository lock was lost while writing (${lease.compromised.message}); nothing was committed`);
    },
  };
  try {
    return await fn(held);
  } finally {
    await keepOrRelease(gitdir, lease);
  }
}

function takeKept(gitdir: string): Lease | null {
  const entry = kept.get(gitdir);
  if (!entry) return null;
  kept.delete(gitdir);
  clearImmediate(entry.timer);
  // lost while kept (another process took it over as stale): take the lock afresh
  return entry.lease.compromised ? null : entry.lease;
}

async function acquireLease(gitdir: string, options: LockOptions): Promise<Lease> {
  const lease: Lease = { release: async () => {}, compromised: null, since: Date.now() };
  lease.release = await acquire(gitdir, options, (err) => {
    lease.compromised = err;
  });
  return lease;
}

async function keepOrRelease(gitdir: string, lease: Lease): Promise<void> {
  // A compromised lock is another process's now: never remove it.
  if (lease.compromised) return;
  if (Date.now() - lease.since >= MAX_LEASE_MS || wantedSince(gitdir, Date.now() - WAITING_MS)) {
    await lease.release().catch(() => undefined);
    return;
  }
  const timer = setImmediate(() => {
    if (kept.get(gitdir)?.lease !== lease) return;
    kept.delete(gitdir);
    lease.release().catch(() => undefined);
  });
  kept.set(gitdir, { lease, timer });
}

/**
 * Try the lock, and while another process holds it retry with short randomised
 * waits (proper-lockfile's own retries start at one second) until the deadline.
 */
async function acquire(gitdir: string, options: LockOptions, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? envNumber('GITSTATE_LOCK_TIMEOUT_MS') ?? DEFAULT_LOCK_TIMEOUT_MS;
  const stale = Math.max(2_000, options.staleMs ?? envNumber('GITSTATE_LOCK_STALE_MS') ?? DEFAULT_STALE_MS);
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    try {
      return await lockfile.lock(gitdir, {
        lockfilePath: join(gitdir, LOCK_DIR),
        realpath: false,
        stale,
        update: Math.min(1_000, stale / 2),
        retries: 0,
        onCompromised,
        fs: syncCallbackFs,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      markWanted(gitdir);
      if (Date.now() >= deadline) {
        throw new LockError(`could not take the repository lock within ${timeoutMs} ms (${join(gitdir, LOCK_DIR)} is held by another writer)`);
      }
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
      wait = Math.min(wait * 2, 10);
    }
  }
}

/**
 * A file whose mtime a process waiting for the lock bumps on every try, so the
 * holder releases the lock after its operation rather than passing it on.
 * (Not the lock's own mtime: that is how a stale lock is told from a live one.)
 */
const WANTED_FILE = 'gitstate-lock-wanted';

function markWanted(gitdir: string): void {
  const path = join(gitdir, WANTED_FILE);
  const now = new Date();
  try {
    fs.utimesSync(path, now, now);
  } catch {
    try {
      fs.closeSync(fs.openSync(path, 'a'));
    } catch {
      // only a hint: without it the holder still releases within MAX_LEASE_MS
    }
  }
}

/** Whether another process has asked for the lock since `since` (ms since the epoch). */
function wantedSince(gitdir: string, since: number): boolean {
  const stats = fs.statSync(join(gitdir, WANTED_FILE), { throwIfNoEntry: false });
  return stats !== undefined && stats.mtimeMs >= since;
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

type Callback = (err: NodeJS.ErrnoException | null, result?: unknown) => void;
/**
 * The fs proper-lockfile uses: its few calls (mkdir, stat, utimes, rmdir) done
 * synchronously, each costing microseconds instead of a thread-pool round trip.
 */
const syncCallbackFs = {
  // used by its exit handler to remove a lock still held when the process exits
  rmdirSync: fs.rmdirSync,
  ...Object.fromEntries(
  (['mkdir', 'stat', 'utimes', 'rmdir', 'realpath'] as const).map((name) => [
    name,
    (...args: unknown[]) => {
      const callback = args.pop() as Callback;
      let result: unknown;
      try {
        result = (fs[`${name}Sync`] as (...a: unknown[]) => unknown)(...args);
      } catch (err) {
        process.nextTick(callback, err as NodeJS.ErrnoException);
        return;
      }
      process.nextTick(callback, null, result);
    },
  ]),
  ),
};
