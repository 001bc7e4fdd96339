/**
 * The calls by which the write path changes the disk, passed in (GitStore's
 * `disk` option) so a test can stand between them and the file system: the
 * power-loss test records what was made durable and when. Reads go to
 * node:fs directly.
 */
import { closeSync, fsync as fsyncFd, linkSync, mkdirSync, open as openFd, openSync, renameSync, rmdirSync, rmSync, unlinkSync, write as writeFd, writeSync } from 'node:fs';
import { promisify } from 'node:util';

export interface Disk {
  openSync(path: string, flags: string | number, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position?: number | null): number;
  closeSync(fd: number): void;
  /** Make a file's data durable. */
  fsync(fd: number): Promise<void>;
  /**
   * Create `path` (it must not exist), write `bytes` and make them durable,
   * on the thread pool: a staged file costs the caller no blocking call.
   */
  writeNew(path: string, bytes: Uint8Array): Promise<void>;
  /** Make a folder's entries durable (files made, renamed into or removed from it). */
  syncDir(path: string): Promise<void>;
  renameSync(from: string, to: string): void;
  /** A second name for a file; fails (EEXIST) if `to` exists. */
  linkSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string): void;
  rmdirSync(path: string): void;
  /** Remove a file or a folder tree; nothing when absent. */
  removeSync(path: string): void;
}

const fsyncAsync = promisify(fsyncFd);

export const nodeDisk: Disk = {
  openSync: (path, flags, mode) => openSync(path, flags, mode),
  writeSync: (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position),
  closeSync: (fd) => closeSync(fd),
  fsync: (fd) => fsyncAsync(fd),
  writeNew: (path, bytes) =>
    new Promise((resolve, reject) => {
      // callbacks, not FileHandle: one thread-pool round trip per step and no promise per call
      openFd(path, 'wx', 0o644, (err, fd) => {
        if (err) return reject(err);
        // closing costs microseconds: done here, not as one more round trip
        const settle = (cause: Error | null) => {
          try {
            closeSync(fd);
          } catch (closeError) {
            cause ??= closeError as Error;
          }
          if (cause) reject(cause);
          else resolve();
        };
        const write = (done: number): void => {
          if (done >= bytes.byteLength) return fsyncFd(fd, settle);
          writeFd(fd, bytes, done, bytes.byteLength - done, null, (writeErr, n) => (writeErr ? settle(writeErr) : write(done + n)));
        };
        write(0);
      });
    }),
  // opening and closing a folder cost microseconds: only the fsync goes to the thread pool
  syncDir: async (path) => {
    const fd = openSync(path, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
  },
  renameSync: (from, to) => renameSync(from, to),
  linkSync: (from, to) => linkSync(from, to),
  unlinkSync: (path) => unlinkSync(path),
  mkdirSync: (path) => mkdirSync(path),
  rmdirSync: (path) => rmdirSync(path),
  removeSync: (path) => rmSync(path, { recursive: true, force: true }),
};

/** Write all of `bytes` at `position` (the file's offset when omitted). */
export function writeAll(disk: Disk, fd: number, bytes: Uint8Array, position?: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += disk.writeSync(fd, bytes, done, bytes.byteLength - done, position === undefined ? null : position + done);
}
