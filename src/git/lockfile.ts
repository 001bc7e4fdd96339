/**
 * Git's own lock protocol, for every file git itself locks (the index, refs):
 * `<file>.lock` is created with O_CREAT|O_EXCL, written, fsynced and renamed
 * over the file. While it exists, native git refuses to touch the file
 * ("Unable to create '…/index.lock': File exists"), and so does gitstate:
 * it waits, bounded, for a lock native git holds, then gives up naming it.
 */
import { constants, fstatSync, statSync } from 'node:fs';
import { LockError } from '../errors.js';
import { systemClock, type Clock } from '../base/clock.js';
import { nodeDisk, writeAll, type Disk } from './disk.js';

const { O_CREAT, O_EXCL, O_WRONLY } = constants;

export interface GitLockOptions {
  /** How long to wait while another process holds the lock. */
  timeoutMs: number;
  clock?: Clock;
  /**
   * Called once the lock file exists (`made`: its identity), so whoever finds
   * this process dead can remove it, and once it is gone again (null). One
   * made by a process killed before it was recorded stays, as a killed git's
   * does: the next writer gives up on it naming it.
   */
  onLock?: (path: string, made: LockFileMade | null) => void;
  disk?: Disk;
}

/**
 * A lock file as its maker recorded it: inode and birth time (0 where the file
 * system keeps none), so a later file on a reused inode is not taken for it;
 * and the name it was made under before it was linked into place.
 */
export interface LockFileMade {
  ino: number;
  birth: string;
  temp?: string;
}

/** Whether the file at `path` is still the one `made` describes (by inode alone for a record without a birth time, as older gitstates made them). */
export function isLockFile(path: string, made: { ino: number; birth?: string }): boolean {
  try {
    const stats = statSync(path, { bigint: true });
    return stats.ino === BigInt(made.ino) && (made.birth === undefined || String(stats.birthtimeNs) === made.birth);
  } catch {
    return false;
  }
}

/** What link() says on a file system without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

function identity(fd: number, temp?: string): LockFileMade {
  const stats = fstatSync(fd, { bigint: true });
  return { ino: Number(stats.ino), birth: String(stats.birthtimeNs), ...(temp ? { temp } : {}) };
}

/** Drop the lock file made under its own name, and its record. */
function giveUp(disk: Disk, fd: number, temp: string, path: string, options: GitLockOptions): void {
  disk.closeSync(fd);
  removeQuietly(disk, temp);
  options.onLock?.(path, null);
}

function removeQuietly(disk: Disk, path: string): void {
  try {
    disk.unlinkSync(path);
  } catch {
    // gone already
  }
}

export class GitLockFile {
  private open = true;

  private constructor(
    /** The file the lock guards. */
    readonly target: string,
    /** `<target>.lock`. */
    readonly path: string,
    private readonly fd: number,
    private readonly made: LockFileMade,
    private readonly disk: Disk,
    private readonly onLock: GitLockOptions['onLock'],
  ) {}

  /**
   * Take `<target>.lock`, waiting (bounded) while another process has it. The
   * file is made under a name of its own first (`<target>.<pid>-<random>.lock`:
   * git passes over names that end in .lock), recorded, and then linked to
   * `<target>.lock`, which fails while one exists, as O_CREAT|O_EXCL would. So
   * wherever this process is killed, what its record names is the very file it
   * made: the next holder removes that one, never a native git's. Where the file
   * system has no hard links, the lock is made in place (O_CREAT|O_EXCL) and
   * recorded once made.
   */
  static async acquire(target: string, options: GitLockOptions): Promise<GitLockFile> {
    const clock = options.clock ?? systemClock;
    const disk = options.disk ?? nodeDisk;
    const path = `${target}.lock`;
    const deadline = clock.now() + options.timeoutMs;
    const temp = `${target}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.lock`;
    /** The file made under its own name, while it waits to be linked; null where it is made in place. */
    const tempFd = disk.openSync(temp, O_WRONLY | O_CREAT | O_EXCL, 0o666);
    let made: { fd: number; record: LockFileMade } | null = { fd: tempFd, record: identity(tempFd, temp) };
    options.onLock?.(path, made.record);
    let wait = 1;
    for (;;) {
      try {
        if (made) {
          disk.linkSync(temp, path);
          removeQuietly(disk, temp); // recorded: a leftover is removed with the lock
          return new GitLockFile(target, path, made.fd, made.record, disk, options.onLock);
        }
        const fd = disk.openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o666);
        const record = identity(fd);
        options.onLock?.(path, record);
        return new GitLockFile(target, path, fd, record, disk, options.onLock);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
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

  /** Rename the lock over its target: the new content is in place. */
  commit(): void {
    this.close();
    this.disk.renameSync(this.path, this.target);
    this.onLock?.(this.path, null);
  }

  /** Give the lock up without changing the target. */
  rollback(): void {
    if (!this.open) return;
    this.close();
    try {
      if (isLockFile(this.path, this.made)) this.disk.unlinkSync(this.path);
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
