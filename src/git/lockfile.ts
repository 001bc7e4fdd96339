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
   * Called before the lock file is made (ino null) and once it exists (its
   * inode), so whoever finds this process dead can remove it.
   */
  onLock?: (path: string, ino: number | null) => void;
  disk?: Disk;
}

export class GitLockFile {
  private open = true;

  private constructor(
    /** The file the lock guards. */
    readonly target: string,
    /** `<target>.lock`. */
    readonly path: string,
    private readonly fd: number,
    readonly ino: number,
    private readonly disk: Disk,
  ) {}

  static async acquire(target: string, options: GitLockOptions): Promise<GitLockFile> {
    const clock = options.clock ?? systemClock;
    const disk = options.disk ?? nodeDisk;
    const path = `${target}.lock`;
    const deadline = clock.now() + options.timeoutMs;
    let wait = 1;
    options.onLock?.(path, null);
    for (;;) {
      try {
        const fd = disk.openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o666);
        const { ino } = fstatSync(fd);
        options.onLock?.(path, ino);
        return new GitLockFile(target, path, fd, ino, disk);
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
  }

  /** Give the lock up without changing the target. */
  rollback(): void {
    if (!this.open) return;
    this.close();
    try {
      if (statSync(this.path).ino === this.ino) this.disk.unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    this.disk.closeSync(this.fd);
  }
}
