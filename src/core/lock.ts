/**
 * The repository write lock: gitstate's writers take it for the whole of a
 * write (read, apply, publish), so they queue rather than redo each other's
 * work. Correctness does not rest on it alone: every publication also takes
 * git's own index and ref locks and checks the branch (git/stage.ts).
 *
 * Across processes it is a folder, `.git/gitstate.lock` (proper-lockfile: made
 * with mkdir, its mtime refreshed while held). Beside it, `gitstate-lock-owner.json`
 * names the holder of that very folder (by inode and birth time): pid, host,
 * boot, and the git lock files it has created. It is rewritten in place, not
 * made and removed per write, and a reader that finds it torn or naming another
 * folder only falls back to the lock's age. A lock is
 * taken over at once when its holder is provably gone (same host and boot, the
 * pid not running), or once it is stale: not refreshed for `staleMs`, counted
 * from when it was first seen for a lock whose mtime lies in the future. Taking
 * over removes the git lock files the dead holder recorded.
 *
 * Waiters queue first come, first served (lock-queue.ts). The first wakes
 * when the lock folder goes, each other one when the ticket ahead of it goes
 * (a watch on that one path), with capped backoff as a fallback. A waiter may
 * offer its writes in its ticket: the holder may make them in its own group
 * (handoff.ts), and the waiter then returns without taking the lock.
 * Within a process the lock is a promise chain, since proper-lockfile is not
 * re-entrant.
 */
import { type BigIntStats, closeSync, constants, type FSWatcher, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, utimesSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';
// before proper-lockfile: what its signal-exit adds is told apart from the application's listeners
import { EXIT_SIGNALS, listenersBeforeLockfile } from './signal-listeners.js';
import lockfile from 'proper-lockfile';
import { LockError, RepoError } from '../errors.js';
import { systemClock, type Clock } from '../base/clock.js';
import { writeLine } from '../base/files.js';
import { inTurn } from '../base/in-turn.js';
import { isGone as holderIsGone, LockQueue, processHere } from './lock-queue.js';
import { claimOffer, clearOffer, doneResults } from './handoff.js';
import { isLockFile, type LockFileMade } from '../git/lockfile.js';
import { crashPoint } from '../git/crash-points.js';

export interface LockOptions {
  /** How long to wait for the lock before giving up with exit 5. */
  timeoutMs?: number;
  /** A lock whose holder stopped refreshing it for this long is taken over. */
  staleMs?: number;
  clock?: Clock;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;
export const DEFAULT_STALE_MS = 5_000;
export const LOCK_DIR = 'gitstate.lock';
const OWNER = 'gitstate-lock-owner.json';
const MAX_BACKOFF_MS = 16;
/** A waiter behind another is woken when that one's ticket goes; it looks on its own this often, for a waiter that died. */
const MAX_BACKOFF_BEHIND_MS = 128;

export interface HeldLock {
  /** Throws if another process took the lock over while we held it. */
  assertHeld(): void;
  /**
   * Record a git lock file this holder made (or, null, that it is gone again),
   * so whoever takes over after a crash removes it.
   */
  noteGitLock(path: string, made: LockFileMade | null): void;
  /** The lock was taken over from a holder that died or went stale: its leftovers need sweeping. */
  readonly tookOver: boolean;
  /** The ticket under which this holder offered its writes while it waited (a holder may have claimed them), or null. */
  readonly offered: string | null;
}

/** Writes a waiter offers the holder (handoff.ts). */
export interface LockOffer<T> {
  /** The offers to put in the ticket, made when this process has to queue; null: none. */
  make(): Promise<unknown[] | null>;
  /** What to return when the holder made them: its results (handoff.ts), in place of running the work under the lock. */
  handed(results: unknown[]): T;
}

interface Owner {
  /** The lock folder this note is about: `ino:birthtimeNs`. */
  lock: string;
  pid: number;
  host: string;
  boot: string;
  since: number;
  /** The git lock files the holder made and still has; one without `ino` (an older gitstate's record of setting out to make it) may be native git's. */
  gitLocks: GitLockEntry[];
}

/** A git lock file a holder made, as its note records it (`ino` a number in notes of older gitstates). */
type GitLockEntry = { path: string; since: number; ino?: string | number; birth?: string; temp?: string };

/** The signal listeners proper-lockfile's signal-exit installed (it re-raises the signal itself once it is the last listener). */
export const lockfileSignalListeners: ReadonlySet<unknown> = new Set(EXIT_SIGNALS.flatMap((s) => process.listeners(s)).filter((l) => !listenersBeforeLockfile.has(l)));

const chains = new Map<string, Promise<unknown>>();
/** The notes of the locks this process holds, by lock folder: what a signal's exit handler cleans up. */
const heldHere = new Map<string, Owner>();

/** Run `fn` holding the repository lock of `gitdir` (or, with an offer another holder took up, return what `offer.handed` makes of it). */
export function withRepoLock<T>(gitdir: string, options: LockOptions, fn: (lock: HeldLock) => Promise<T>, offer?: LockOffer<T>): Promise<T> {
  return inTurn(chains, gitdir, () => holdAndRun(gitdir, options, fn, offer));
}

/** How long a writer waits for a lock (the repository's, or git's): the option, GITSTATE_LOCK_TIMEOUT_MS, or 15 s. */
export function lockTimeoutMs(options: LockOptions): number {
  return options.timeoutMs ?? envNumber('GITSTATE_LOCK_TIMEOUT_MS') ?? DEFAULT_LOCK_TIMEOUT_MS;
}

/** The queue of waiters for the lock of `gitdir`. */
export function lockQueue(gitdir: string, options: LockOptions): LockQueue {
  return new LockQueue(gitdir, holderIsGone, 2 * lockTimeoutMs(options));
}

async function holdAndRun<T>(gitdir: string, options: LockOptions, fn: (lock: HeldLock) => Promise<T>, offer?: LockOffer<T>): Promise<T> {
  const clock = options.clock ?? systemClock;
  let compromised: Error | null = null;
  const acquired = await acquire(gitdir, lockQueue(gitdir, options), options, clock, (err) => {
    compromised = err;
  }, offer);
  if ('handed' in acquired) return offer!.handed(acquired.handed);
  const { release } = acquired;
  const lockPath = join(gitdir, LOCK_DIR);
  // A holder stopped by a signal had its lock folder removed on the way out (proper-lockfile's exit
  // handler), so the lock came free, but not the git locks it held: the note made with our lock folder carries them over.
  const tookOver = sweepInherited(lockPath) || acquired.tookOver;
  const owner: Owner = { lock: lockIdentity(lockPath) ?? '', ...processHere(), since: clock.now(), gitLocks: [] };
  heldHere.set(lockPath, owner);
  writeNote(gitdir, JSON.stringify(owner));
  const held: HeldLock = {
    assertHeld() {
      if (compromised) throw new LockError(`the repository lock was lost while writing (${(compromised as Error).message}); nothing was committed`);
      // looked at, not only as proper-lockfile last saw it: a holder stopped for longer than the stale time
      // (SIGSTOP, a suspended laptop) finds its lock taken over before its next refresh would tell it
      if (!stillOurs(lockPath, owner)) throw new LockError(`the repository lock was taken over while this write waited; nothing was committed`);
    },
    noteGitLock(path, made) {
      owner.gitLocks = owner.gitLocks.filter((l) => l.path !== path);
      if (made) owner.gitLocks.push({ path, since: Date.now(), ...made });
      // a holder whose lock was taken over writes nothing more: the note is the new holder's
      if (stillOurs(lockPath, owner)) writeNote(gitdir, JSON.stringify(owner));
    },
    tookOver,
    offered: acquired.offered,
  };
  try {
    return await fn(held);
  } finally {
    // A compromised lock is another process's now: never remove it, nor its note. Nor one taken over
    // while this process was frozen (proper-lockfile has not noticed yet): release() then only stops
    // refreshing it (lockFs.rmdir removes only the folder this holder made).
    heldHere.delete(lockPath);
    if (!compromised) {
      const ours = stillOurs(lockPath, owner);
      if (ours) clearOwner(gitdir);
      releasing.set(lockPath, ours);
      await release().catch(() => undefined);
      releasing.delete(lockPath);
    }
  }
}

/** Whether the lock folder each release here is about is still its holder's (looked at just before): only then does it go. */
const releasing = new Map<string, boolean>();

/**
 * Whether the lock folder at `lockPath` is still the one `owner` made: the
 * same folder (inode and birth time), and the note beside it still this
 * holder's. The note tells apart a folder made again on the same inode on a
 * file system without birth times, where a takeover's new holder rewrote it.
 */
function stillOurs(lockPath: string, owner: Owner): boolean {
  if (lockIdentity(lockPath) !== owner.lock) return false;
  const note = readNote(dirname(lockPath));
  return note !== null && note.pid === owner.pid && note.host === owner.host && note.since === owner.since;
}

/**
 * Try the lock until the deadline; take over a dead or stale holder's. With an
 * offer, return the holder's results instead once it made the offered writes.
 */
async function acquire(
  gitdir: string,
  queue: LockQueue,
  options: LockOptions,
  clock: Clock,
  onCompromised: (err: Error) => void,
  offer?: LockOffer<unknown>,
): Promise<{ release: () => Promise<void>; tookOver: boolean; offered: string | null } | { handed: unknown[] }> {
  const timeoutMs = lockTimeoutMs(options);
  const staleMs = Math.max(1_000, options.staleMs ?? envNumber('GITSTATE_LOCK_STALE_MS') ?? DEFAULT_STALE_MS);
  const lockPath = join(gitdir, LOCK_DIR);
  const deadline = clock.now() + timeoutMs;
  /** When each lock we found was first seen, by identity: a future mtime ages from then. */
  const firstSeen = new Map<string, number>();
  let wait = 1;
  let tookOver = false;
  let ticket: string | null = null;
  /** Whether our ticket offers writes: then a holder may make them, and say so in the ticket's handoff file. */
  let offered = false;
  let withdrawn = false;
  const joinQueue = async (): Promise<string> => {
    const offers = offer ? await offer.make() : null;
    offered = offers !== null;
    return queue.join(clock.now(), processHere(), offers);
  };
  const watch = new GoneWatch();
  try {
  for (;;) {
    const done = offered ? doneResults(gitdir, ticket!) : null;
    if (done) {
      // the ticket first: while it is there, a holder that took over from one killed before it removed
      // it could claim the offer again once the claim is gone
      queue.leave(ticket!);
      clearOffer(gitdir, ticket!);
      return { handed: done };
    }
    // Only the first in the queue tries; with nobody queued, anyone may.
    let ahead = ticket ? queue.ahead(ticket, clock.now()) : null;
    const mayTry = ticket ? ahead === null : !queue.anyWaiting();
    if (!mayTry && !ticket) {
      ticket = await joinQueue();
      ahead = queue.ahead(ticket, clock.now());
      if (ahead === null) continue; // the queue emptied meanwhile
    }
    if (mayTry) try {
      const release = await lockfile.lock(gitdir, {
        lockfilePath: lockPath,
        realpath: false,
        // staleness is judged here, below, not by proper-lockfile
        stale: Number.MAX_SAFE_INTEGER,
        update: 1_000,
        retries: 0,
        onCompromised,
        fs: lockFs,
      });
      return { release, tookOver, offered: offered ? ticket : null };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const outcome = takeOverIfGone(lockPath, staleMs, clock, firstSeen);
      if (outcome === 'taken-over') tookOver = true;
      if (outcome !== 'held') continue;
      ticket ??= await joinQueue();
    }
    if (clock.now() >= deadline) {
      // Withdraw our offer first. A holder that claimed it is making those writes (it claims only once
      // its own are prepared, so this is one publication): wait for it, never give up under it.
      const claimed = offered && !(withdrawn = claimOffer(gitdir, ticket!, { state: 'withdrawn', by: processHere(), waiter: processHere() }));
      if (!claimed) throw new LockError(`could not take the repository lock within ${timeoutMs} ms (${lockPath} is held by ${describeOwner(lockPath, staleMs)})`, { lock: lockPath });
    }
    // The first waiter wakes when the lock folder goes; the others when the ticket ahead goes
    // (it leaves once its waiter holds the lock), so one release wakes one waiter.
    const waitingOn = ahead ? join(queue.dir, ahead) : lockPath;
    // with an offer out, our own ticket's removal says the holder made our writes
    watch.on(waitingOn, offered ? join(queue.dir, ticket!) : null);
    // behind someone, nothing but a crash (found by looking) goes unannounced: look less often
    const cap = ahead && watch.watching ? MAX_BACKOFF_BEHIND_MS : MAX_BACKOFF_MS;
    wait = Math.min(wait, cap);
    const left = deadline - clock.now();
    await watch.sleep(Math.min(wait * (0.5 + Math.random()), left > 0 ? left : wait), clock);
    wait = Math.min(wait * 2, cap);
  }
  } finally {
    watch.close();
    if (ticket) queue.leave(ticket);
    // only now: a holder that read the ticket before it went finds our claim, or no ticket
    if (withdrawn) clearOffer(gitdir, ticket!);
  }
}

/** Take the lock over (remove it) when its holder is gone. Exported for the tests. */
export function takeOverIfGone(lockPath: string, staleMs: number, clock: Clock, firstSeen: Map<string, number>): 'held' | 'released' | 'taken-over' {
  let stats: BigIntStats;
  try {
    stats = statSync(lockPath, { bigint: true });
  } catch {
    return 'released'; // released meanwhile: try again at once
  }
  if (!stats.isDirectory()) {
    throw new RepoError(`${lockPath} is a file, but gitstate's repository lock is a folder; remove the file and try again`);
  }
  const gitdir = dirname(lockPath);
  const judged = identityOf(stats);
  const owner = noteAbout(gitdir, judged);
  const now = clock.now();
  const mtimeMs = Number(stats.mtimeMs);
  const seenAs = `${stats.ino}:${mtimeMs}`;
  if (!firstSeen.has(seenAs)) firstSeen.set(seenAs, now);
  const age = mtimeMs > now ? now - firstSeen.get(seenAs)! : now - mtimeMs;
  if (!(owner && holderIsGone(owner)) && age < staleMs) return 'held';
  // Rename first: of several waiters that judge it gone, exactly one wins the rename.
  const aside = `${lockPath}.gone-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return 'released'; // another waiter took it over first
  }
  if (lockIdentity(aside) !== judged) {
    // Another waiter took it over between our look and the rename, and made a lock of its own: that
    // live one is what moved. Its holder finds its lock gone before it places anything and gives up,
    // nothing committed; its note and git locks are its own, left alone.
    rmSync(aside, { recursive: true, force: true });
    return 'released';
  }
  for (const lock of owner?.gitLocks ?? []) removeIfTheirs(lock);
  // the note goes before the folder, whose inode a new lock could be given; only while it is
  // about that folder: a waiter that took the lock since the rename has named itself in it
  if (noteAbout(gitdir, judged)) clearOwner(gitdir);
  rmSync(aside, { recursive: true, force: true });
  sweepAside(gitdir, clock.now(), staleMs);
  return 'taken-over';
}

/** Lock folders moved aside by a taker killed before it removed them: only their taker looks at one, for moments, so an old one goes. */
function sweepAside(gitdir: string, now: number, staleMs: number): void {
  for (const name of readdirSync(gitdir)) {
    if (!name.startsWith(`${LOCK_DIR}.gone-`)) continue;
    const path = join(gitdir, name);
    try {
      if (now - statSync(path).mtimeMs >= staleMs) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}

/** The git locks a dead holder's note named when this process made the lock folder at each path (claimNote): removed once it holds the lock. */
const inherited = new Map<string, GitLockEntry[]>();

/**
 * Name this process on the lock folder it just made, before proper-lockfile
 * goes on to probe the folder's mtime: a holder killed in between is then
 * known dead at once, not after the stale time. The note it writes over
 * names the git locks of a holder that died holding the lock (a signal's exit
 * handler removes the folder, not the note); they are carried over, so that
 * they are swept even if this process dies too.
 */
function claimNote(lockPath: string): void {
  const gitdir = dirname(lockPath);
  try {
    const previous = readNote(gitdir);
    const left = previous && holderIsGone(previous) ? (previous.gitLocks ?? []) : null;
    if (left) inherited.set(lockPath, left);
    writeNote(gitdir, JSON.stringify({ lock: lockIdentity(lockPath) ?? '', ...processHere(), since: Date.now(), gitLocks: left ?? [] }));
  } catch {
    // only a hint: the lock itself is the folder
  }
  crashPoint('lock-claimed');
}

/** Remove the git locks the note this process wrote over named (claimNote); whether a dead holder's note was there. */
function sweepInherited(lockPath: string): boolean {
  const left = inherited.get(lockPath);
  inherited.delete(lockPath);
  for (const lock of left ?? []) removeIfTheirs(lock);
  return left !== undefined;
}

/**
 * Remove a git lock file a dead holder made and recorded: only the very file
 * (inode and birth time; git/lockfile.ts records it before it takes the lock's
 * name). One recorded only as about to be made (by an older gitstate) may be
 * native git's, and stays.
 */
function removeIfTheirs(lock: GitLockEntry): void {
  if (lock.ino === undefined) return;
  // the lock, and the name it was made under (a holder killed before it was linked into place, or before that name went)
  for (const path of lock.temp ? [lock.path, lock.temp] : [lock.path]) {
    if (!isLockFile(path, { ino: lock.ino, birth: lock.birth })) continue;
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

/** The note on the lock folder at `lockPath` (a renamed one keeps its identity), or null when the note is about another folder, torn, or absent. */
function readOwner(lockPath: string): Owner | null {
  return noteAbout(dirname(lockPath), lockIdentity(lockPath));
}

/** The note, if it is about the lock folder of this identity. */
function noteAbout(gitdir: string, identity: string | null): Owner | null {
  const owner = readNote(gitdir);
  return owner && identity !== null && owner.lock === identity ? owner : null;
}

/** The note as it stands, whichever lock folder it is about; null when cleared, torn, absent, or from an older gitstate. */
function readNote(gitdir: string): Owner | null {
  try {
    const text = readFileSync(join(gitdir, OWNER), 'utf8');
    return JSON.parse(text.slice(0, text.indexOf('\n') >>> 0)) as Owner | null;
  } catch {
    return null; // just taken and not written yet, or being rewritten
  }
}

function clearOwner(gitdir: string): void {
  try {
    writeNote(gitdir, 'null');
  } catch {
    // only a hint
  }
}

/** The note is one line at the start of its file, written over what was there in one write (the file never shrinks). */
function writeNote(gitdir: string, line: string): void {
  const fd = openSync(join(gitdir, OWNER), constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    writeLine(fd, line);
  } finally {
    closeSync(fd);
  }
}

function lockIdentity(lockPath: string): string | null {
  try {
    return identityOf(statSync(lockPath, { bigint: true }));
  } catch {
    return null;
  }
}

function identityOf(stats: BigIntStats): string {
  return `${stats.ino}:${stats.birthtimeNs}`;
}

function describeOwner(lockPath: string, staleMs: number): string {
  let owner: Owner | null = null;
  try {
    owner = readOwner(lockPath);
  } catch {
    // released meanwhile
  }
  return owner ? `process ${owner.pid} on ${owner.host}` : `a writer that has not named itself, taken over once it is not refreshed for ${staleMs / 1000} s`;
}

const WOKEN = Symbol('woken');

/**
 * Wakes a waiter when a path it waits on is removed or renamed: the lock
 * folder or the queue ticket ahead of it, and its own ticket when it offered
 * its writes. Watching the paths themselves (not the git dir) spares waiters
 * the events of every other file a write touches.
 */
class GoneWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  /** The lock folder or the ticket ahead. */
  private primary: string | null = null;
  private gone = false;
  private wake: (() => void) | null = null;

  /** Whether the lock folder or the ticket ahead is watched (some file systems have no watches: the backoff alone then). */
  get watching(): boolean {
    return this.primary !== null && this.watchers.has(this.primary);
  }

  /**
   * Watch `path`, and `mine` (our own ticket) if given, from now on (live
   * watches on them are kept, others closed). Called after each look at the
   * queue and the lock, so a path that went meanwhile is found here: watching
   * it fails, and the next sleep returns at once. (Our own ticket gone is no
   * news: a holder that made our writes said so before it removed it.)
   */
  on(path: string, mine: string | null): void {
    const paths = mine ? [path, mine] : [path];
    this.primary = path;
    // a path that went closed every watch (fire): the look that called this found what changed
    this.gone = false;
    for (const [watched, watcher] of this.watchers) {
      if (paths.includes(watched)) continue;
      watcher.close();
      this.watchers.delete(watched);
    }
    for (const path of paths) {
      if (this.watchers.has(path)) continue;
      try {
        const watcher = watch(path, { persistent: false }, (event) => {
          if (event === 'rename') this.fire();
        });
        watcher.on('error', () => this.fire());
        this.watchers.set(path, watcher);
      } catch (err) {
        // already gone: look again at once
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && path !== mine) this.gone = true;
      }
    }
  }

  /** Sleep up to `ms`, or less when a path goes (at once if one went already). */
  async sleep(ms: number, clock: Clock): Promise<void> {
    if (this.gone || ms <= 0) return;
    const controller = new AbortController();
    this.wake = () => controller.abort(WOKEN); // a reason of our own: no DOMException to build
    try {
      await clock.sleep(ms, controller.signal);
    } catch {
      // woken
    } finally {
      this.wake = null;
    }
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private fire(): void {
    this.gone = true;
    this.close();
    this.wake?.();
  }
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

type Callback = (err: NodeJS.ErrnoException | null, result?: unknown) => void;
/** A sync fs call behind a callback, as proper-lockfile calls it: microseconds, against a thread-pool round trip each. */
function callbackStyle(sync: (...args: never[]) => unknown) {
  return (...args: unknown[]) => {
    const callback = args.pop() as Callback;
    let result: unknown;
    try {
      result = (sync as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      process.nextTick(callback, err as NodeJS.ErrnoException);
      return;
    }
    process.nextTick(callback, null, result);
  };
}

/** The fs proper-lockfile uses: its few calls done synchronously. */
const lockFs = {
  // Used by its exit handler (signal-exit) to remove a lock still held when the process exits or
  // is stopped by a signal (Ctrl-C): the git locks taken under it go first, as git removes its own
  // on a signal, so native git is not left blocked until the next gitstate command.
  rmdirSync: (path: string) => {
    const owner = heldHere.get(path);
    // a lock taken over while this process was frozen is the new holder's, with its git locks
    if (owner && !stillOurs(path, owner)) return;
    // only those it made and still has: one it was still waiting for is native git's
    for (const lock of owner?.gitLocks ?? []) removeIfTheirs(lock);
    rmdirSync(path);
  },
  // a release removes the lock folder only if it is still the one this holder made
  rmdir: (path: string, callback: Callback) => (releasing.get(path) === false ? process.nextTick(callback, null) : callbackStyle(rmdirSync)(path, callback)),
  mkdir: callbackStyle((path: string) => {
    mkdirSync(path);
    claimNote(path);
  }),
  stat: callbackStyle(statSync),
  utimes: callbackStyle(utimesSync),
  realpath: callbackStyle(realpathSync),
};
