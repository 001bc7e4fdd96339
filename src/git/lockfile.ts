/**
 * Git's own lock protocol, for every file git itself locks (the index, refs):
 * `<file>.lock` is created with O_CREAT|O_EXCL, written, fsynced and renamed
 * over the file. While it exists, native git refuses to touch the file
 * ("Unable to create '…/index.lock': File exists"), and so does gitstate:
 * it waits, bounded, for a lock native git holds, then gives up naming it.
 */
import { closeSync, constants, fstatSync, fsync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { LockError } from '../errors.js';
import { systemClock, type Clock } from '../base/clock.js';

const fsyncAsync = promisify(fsync);
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
  ) {}

  static async acquire(target: string, options: GitLockOptions): Promise<GitLockFile> {
    const clock = options.clock ?? systemClock;
    const path = `${target}.lock`;
    const deadline = clock.now() + options.timeoutMs;
    let wait = 1;
    options.onLock?.(path, null);
    for (;;) {
      try {
        const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o666);
        const { ino } = fstatSync(fd);
        options.onLock?.(path, ino);
        return new GitLockFile(target, path, fd, ino);
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
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done, done);
  }

  sync(): Promise<void> {
    return fsyncAsync(this.fd);
  }

  /** Rename the lock over its target: the new content is in place. */
  commit(): void {
    this.close();
    renameSync(this.path, this.target);
  }

  /** Give the lock up without changing the target. */
  rollback(): void {
    if (!this.open) return;
    this.close();
    try {
      if (statSync(this.path).ino === this.ino) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}
