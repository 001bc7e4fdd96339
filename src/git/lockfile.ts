/**
 * Git's own lock protocol, for every file git itself locks (the index, refs):
 * `<file>.lock` is created only if none exists (git: O_CREAT|O_EXCL; here a
 * file linked into place, see `acquire`), written, fsynced and renamed over the
 * file. While it exists, native git refuses to touch the file ("Unable to
 * create '…/index.lock': File exists"), and so does gitstate: it waits,
 * bounded, for a lock native git holds, then gives up naming it.
 */
import { constants, fstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LockError } from '../errors.js';
import { systemClock, type Clock } from '../base/clock.js';
import { nodeDisk, writeAll, type Disk } from './disk.js';

const { O_CREAT, O_EXCL, O_WRONLY } = constants;

export interface GitLockOptions {
  /** How long to wait while another process holds the lock. */
  timeoutMs: number;
  clock?: Clock;
  /**
   * Called with the lock file's identity before it takes the lock's name, so
   * whoever finds this process dead can remove it, and with null once it is
   * gone again. (Made in place, where there are no hard links, it is recorded
   * just after: one killed in between stays, as a killed git's does.)
   */
  onLock?: (path: string, made: LockFileMade | null) => void;
  disk?: Disk;
}

/**
 * A lock file as its maker recorded it: its inode (exact, as text) and, where
 * the file system keeps one, its birth time, so a later file on a reused inode
 * is not taken for it; and the name it was made under before it was linked
 * into place.
 */
export interface LockFileMade {
  ino: string;
  birth?: string;
  temp?: string;
}

/** Whether the file at `path` is still the one `made` describes (by inode alone for a record without a birth time). */
export function isLockFile(path: string, made: { ino: string | number; birth?: string }): boolean {
  try {
    const stats = statSync(path, { bigint: true });
    return String(stats.ino) === String(made.ino) && (made.birth === undefined || String(stats.birthtimeNs) === made.birth);
  } catch {
    return false;
  }
}

/**
 * Whether the file system of `dir` keeps birth times. Without statx (an old
 * kernel or container profile) Node reports the change time as the birth time,
 * which every link, write or rename moves: such a "birth" would never match.
 * A folder gitstate writes in has changed since it was made, so a birth time
 * equal to its change time is taken for that.
 */
function keepsBirthTimes(dir: string): boolean {
  const stats = statSync(dir, { bigint: true });
  return stats.birthtimeNs !== 0n && stats.birthtimeNs !== stats.ctimeNs;
}

/** What link() says on a file system without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

function identity(fd: number, births: boolean, temp?: string): LockFileMade {
  const stats = fstatSync(fd, { bigint: true });
  return { ino: String(stats.ino), ...(births ? { birth: String(stats.birthtimeNs) } : {}), ...(temp ? { temp } : {}) };
}

/** Whether `fd` is the file at `path` now (its inode cannot be reused while it is open). */
function isAt(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd, { bigint: true });
    const there = statSync(path, { bigint: true });
    return open.ino === there.ino && open.dev === there.dev;
  } catch {
    return false;
  }
}

/** Drop the lock file made under its own name, and its record. */
function giveUp(disk: Disk, fd: number, temp: string, path: string, options: GitLockOptions): void {
  disk.closeSync(fd);
  disk.removeSync(temp);
  options.onLock?.(path, null);
}

export class GitLockFile {
  private open = true;

  private constructor(
    /** The file the lock guards. */
    readonly target: string,
    /** `<target>.lock`. */
    readonly path: string,
    private readonly fd: number,
    private readonly disk: Disk,
    private readonly onLock: GitLockOptions['onLock'],
  ) {}

  /**
   * Take `<target>.lock`, waiting (bounded) while another process has it. The
   * file is made under a name of its own first (`<target>.<pid>-<random>.lock`:
   * git passes over names that end in .lock), recorded, and then linked to
   * `<target>.lock`, which fails while one exists, as O_CREAT|O_EXCL would. So
   * what its record names is the very file it made: the next holder removes
   * that one, never a native git's (killed before the record, it leaves only
   * the file under its own name, which blocks nothing). Where the file
   * system has no hard links, the lock is made in place (O_CREAT|O_EXCL) and
   * recorded once made.
   */
  static async acquire(target: string, options: GitLockOptions): Promise<GitLockFile> {
    const clock = options.clock ?? systemClock;
    const disk = options.disk ?? nodeDisk;
    const path = `${target}.lock`;
    const deadline = clock.now() + options.timeoutMs;
    const temp = `${target}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.lock`;
    const births = keepsBirthTimes(dirname(target));
    const tempFd = disk.openSync(temp, O_WRONLY | O_CREAT | O_EXCL, 0o666);
    /** The file made under its own name, while it waits to be linked; null where it is made in place. */
    let made: { fd: number; record: LockFileMade } | null = { fd: tempFd, record: identity(tempFd, births, temp) };
    options.onLock?.(path, made.record);
    let wait = 1;
    for (;;) {
      try {
        if (made) {
          disk.linkSync(temp, path);
          disk.removeSync(temp); // recorded: a leftover is removed with the lock
          return new GitLockFile(target, path, made.fd, disk, options.onLock);
        }
        const fd = disk.openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o666);
        const record = identity(fd, births);
        options.onLock?.(path, record);
        return new GitLockFile(target, path, fd, disk, options.onLock);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code === 'ENOENT' && made) {
          // our own file is gone: whoever took the repository lock over while this process was stopped removed it
          giveUp(disk, made.fd, temp, path, options);
          throw new LockError(`the repository lock was taken over while this write waited for ${path} (the lock file it made was removed); nothing was committed`, { lock: path });
        }
        if (code !== 'EEXIST') {
          if (made) giveUp(disk, made.fd, temp, path, options);
          if (!made || !NO_HARD_LINKS.has(code)) throw err;
          made = null; // no hard links on this file system: the lock is made in place
          continue;
        }
      }
      if (clock.now() >= deadline) {
        if (made) giveUp(disk, made.fd, temp, path, options);
        throw new LockError(
          `${path} exists: another git process is using the repository; if none is running, remove that file (git itself never does)`,
          { lock: path },
        );
      }
      await clock.sleep(wait * (0.5 + Math.random()));
      wait = Math.min(wait * 2, 32);
    }
  }

  /** The lock file's whole content. */
  write(bytes: Uint8Array): void {
    writeAll(this.disk, this.fd, bytes, 0);
  }

  sync(): Promise<void> {
    return this.disk.fsync(this.fd);
  }

  /**
   * Rename the lock over its target: the new content is in place. Only while
   * the file there is still ours: a process stopped long enough to have its
   * repository lock taken over (a suspended laptop) may find another's lock there.
   */
  commit(): void {
    if (!isAt(this.fd, this.path)) {
      throw new LockError(`${this.path} is no longer the lock file this write made (its repository lock was taken over while it was stopped); nothing more is written`, { lock: this.path });
    }
    this.close();
    this.disk.renameSync(this.path, this.target);
    this.onLock?.(this.path, null);
  }

  /** Give the lock up without changing the target. */
  rollback(): void {
    if (!this.open) return;
    const ours = isAt(this.fd, this.path);
    this.close();
    try {
      if (ours) this.disk.unlinkSync(this.path);
    } catch {
      // already gone
    }
    this.onLock?.(this.path, null);
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    this.disk.closeSync(this.fd);
  }
}
