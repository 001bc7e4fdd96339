/**
 * The repository write lock: one across processes (proper-lockfile, a directory
 * `.git/gitstate.lock` whose mtime is refreshed while held and which is taken
 * over once stale), and one within a process (a promise chain), since
 * proper-lockfile is not re-entrant.
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
}

const chains = new Map<string, Promise<unknown>>();

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
  let compromised: Error | null = null;
  const release = await acquire(gitdir, options, (err) => {
    compromised = err;
  });
  const held: HeldLock = {
    assertHeld() {
      if (compromised) throw new LockError(`the repository lock was lost while writing (${compromised.message}); nothing was committed`);
    },
  };
  try {
    return await fn(held);
  } finally {
    if (!compromised) await release().catch(() => undefined);
  }
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
      if (Date.now() >= deadline) {
        throw new LockError(`could not take the repository lock within ${timeoutMs} ms (${join(gitdir, LOCK_DIR)} is held by another writer)`);
      }
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
      wait = Math.min(wait * 2, 10);
    }
  }
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
