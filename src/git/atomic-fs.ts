/**
 * The file system isomorphic-git writes through. Its own writes (loose objects,
 * refs, the index) are plain `writeFile`, so a crash can leave a torn object that
 * is never rewritten. Here every write goes to a temp file, is fsynced, then
 * renamed into place.
 *
 * The calls are synchronous under their promise interface: for the small files
 * of a state repo a sync call costs a few microseconds, an async one a round
 * trip through libuv's thread pool (~50-100 µs), and a write makes dozens.
 * Only fsync stays asynchronous, so several run in parallel.
 *
 * During a commit the writes are *staged*: each object goes to a temp file at
 * once, and `publish()` fsyncs them all in parallel and renames them, so a write
 * of four objects and a file costs one round of fsyncs instead of five.
 */
import * as fss from 'node:fs';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { crashPoint } from './crash-points.js';

/** Temp files live inside `.git/`, so a crash never leaves litter in the work tree. */
export const TMP_DIR = 'gitstate-tmp';

interface Staged {
  temp: string;
  /** Open descriptor, synced and closed on publish. */
  fd: number;
}

let counter = 0;

export class AtomicFs {
  readonly tmpDir: string;
  private staged: Map<string, Staged> | null = null;
  private tmpReady = false;
  /** The object isomorphic-git's FileSystem binds: promise-style fs methods. */
  readonly promises;

  constructor(gitdir: string) {
    this.tmpDir = join(gitdir, TMP_DIR);
    this.promises = {
      readFile: async (path: string, options?: { encoding?: BufferEncoding } | BufferEncoding) => {
        const real = this.staged?.get(path)?.temp ?? path;
        // isomorphic-git looks for every object as a loose file before it looks in the
        // packs, so "missing" is a common answer; Node's own ENOENT error costs ~10x the lookup.
        if (!fss.statSync(real, { throwIfNoEntry: false })) throw missing(real);
        return fss.readFileSync(real, options);
      },
      writeFile: (path: string, data: string | Uint8Array, options?: { mode?: number }) => this.writeFile(path, data, options),
      mkdir: async (path: string, options?: { recursive?: boolean }) => fss.mkdirSync(path, options),
      rmdir: async (path: string) => fss.rmdirSync(path),
      unlink: async (path: string) => fss.unlinkSync(path),
      stat: async (path: string) => fss.statSync(this.staged?.get(path)?.temp ?? path),
      lstat: async (path: string) => fss.lstatSync(this.staged?.get(path)?.temp ?? path),
      readdir: async (path: string) => fss.readdirSync(path),
      readlink: async (path: string) => fss.readlinkSync(path),
      symlink: async (target: string, path: string) => fss.symlinkSync(target, path),
      chmod: async (path: string, mode: number) => fss.chmodSync(path, mode),
    };
  }

  /** Write `data` to `path` atomically: temp file, fsync, rename. */
  async writeFile(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void> {
    const temp = this.tempPath();
    const fd = fss.openSync(temp, 'w', options?.mode ?? 0o666);
    try {
      fss.writeFileSync(fd, data);
      if (this.staged) {
        const previous = this.staged.get(path);
        this.staged.set(path, { temp, fd });
        if (previous) discard(previous);
        return;
      }
      await sync(fd);
      fss.closeSync(fd);
    } catch (err) {
      try {
        fss.closeSync(fd);
      } catch {
        // already closed
      }
      fss.rmSync(temp, { force: true });
      throw err;
    }
    this.renameIntoPlace(temp, path);
  }

  /** From now until publish() or abandon(), writes are staged in temp files. */
  stage(): void {
    if (this.staged) throw new Error('AtomicFs: already staging');
    this.staged = new Map();
  }

  /** The stat data of the staged write to `path` (a rename into place keeps all but ctime), or null when none is staged. */
  stagedStats(path: string): fss.BigIntStats | null {
    const staged = this.staged?.get(path);
    return staged ? fss.fstatSync(staged.fd, { bigint: true }) : null;
  }

  /** Make every staged write durable (one parallel round of fsyncs), then rename each into place. */
  async publish(): Promise<void> {
    const staged = this.staged;
    this.staged = null;
    if (!staged) return;
    try {
      await Promise.all([...staged.values()].map(({ fd }) => sync(fd)));
    } catch (err) {
      staged.forEach(discard);
      throw err;
    }
    let renamed = 0;
    for (const [path, { temp, fd }] of staged) {
      fss.closeSync(fd);
      this.renameIntoPlace(temp, path);
      crashPoint(`rename-${++renamed}`);
    }
  }

  /** Drop every staged write: nothing reaches its final path. */
  async abandon(): Promise<void> {
    const staged = this.staged;
    this.staged = null;
    staged?.forEach(discard);
  }

  /** Remove temp files left by a writer that died (call only while holding the repository lock). */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.tmpDir);
    } catch {
      return 0;
    }
    await Promise.all(names.map((n) => fsp.rm(join(this.tmpDir, n), { force: true })));
    return names.length;
  }

  private tempPath(): string {
    if (!this.tmpReady) {
      fss.mkdirSync(this.tmpDir, { recursive: true });
      this.tmpReady = true;
    }
    return join(this.tmpDir, `${process.pid}-${++counter}-${Date.now().toString(36)}`);
  }

  private renameIntoPlace(temp: string, path: string): void {
    try {
      fss.renameSync(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fss.mkdirSync(dirname(path), { recursive: true });
      fss.renameSync(temp, path);
    }
  }
}

function sync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fss.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** An ENOENT error like fs's own, without a stack trace (callers only read its code). */
function missing(path: string): NodeJS.ErrnoException {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT', errno: -2, syscall: 'open', path });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function discard({ temp, fd }: Staged): void {
  try {
    fss.closeSync(fd);
  } catch {
    // already closed
  }
  fss.rmSync(temp, { force: true });
}
