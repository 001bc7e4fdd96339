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

/** A lock file as its maker recorded it: inode and birth time (0 where the file system keeps none), so a later file on a reused inode is not taken for it. */
export interface LockFileMade {
  ino: number;
  birth: string;
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

  static async acquire(target: string, options: GitLockOptions): Promise<GitLockFile> {
    const clock = options.clock ?? systemClock;
    const disk = options.disk ?? nodeDisk;
    const path = `${target}.lock`;
    const deadline = clock.now() + options.timeoutMs;
    let wait = 1;
    for (;;) {
      try {
        const fd = disk.openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o666);
        const stats = fstatSync(fd, { bigint: true });
        const made = { ino: Number(stats.ino), birth: String(stats.birthtimeNs) };
        options.onLock?.(path, made);
        return new GitLockFile(target, path, fd, made, disk, options.onLock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (clock.now() >= deadline) {
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
