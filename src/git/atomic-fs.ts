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
 * During a commit the writes are *staged*: each file goes to a temp file at
 * once and its fsync starts in the thread pool, while the commit goes on making
 * the next object; `publish()` waits for them all, then renames each into place.
 * So the fsyncs run beside each other and beside the work of the commit,
 * instead of one after another at the end.
 *
 * Staged writes also spare the file system the cost of making and freeing
 * inodes, which is what dominates a write on some disks: ext4 without a journal
 * skips every recently freed inode when it allocates one, and a `discard` mount
 * trims each freed block synchronously.
 * - The ref and the index are rewritten in place of their previous version: the
 *   file a write replaces is kept as a *spare* (a hard link in the temp dir) and
 *   the next write of that path goes into it. A reader that still has the old
 *   file open can only see a torn read there, which git detects (a ref has a
 *   fixed length, the index a checksum).
 * - New objects and work-tree files go into *blanks*: empty files a long-lived
 *   writer makes beside the fsyncs of its previous commit, so the inode
 *   allocation runs off the write path. The work-tree files such a writer
 *   replaces are *retired* and reused for objects only: a reader that still has
 *   an old state file open can never read another state file's text in it, only
 *   a compressed object, which fails to parse.
 * Spares and blanks only save time: when one is missing, a fresh temp file is made.
 */
import { createHash } from 'node:crypto';
import * as fss from 'node:fs';
import { promises as fsp } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { crashPoint } from './crash-points.js';

/** Temp files live inside `.git/`, so a crash never leaves litter in the work tree. */
export const TMP_DIR = 'gitstate-tmp';

/** The name to link a replaced file under: the path's next spare, or a retired file. */
interface KeepOld {
  name: string;
  as: 'spare' | 'retired';
}

/** A temp file to write into: an existing spare or blank (opened), or a name to create. */
interface TempFile {
  temp: string;
  fd?: number;
  /** Where to keep the file this write replaces, if anywhere. */
  keep?: KeepOld;
  /** The temp file is a spare: on abandon it is kept, not removed. */
  spare?: boolean;
  /** The temp file is a blank, made empty: nothing to cut off after writing. */
  empty?: boolean;
}

/** A staged write: its temp file, open until it is synced and closed on publish; `synced` is its fsync, under way. */
type Staged = TempFile & { fd: number; synced: Promise<void> };

/** Blanks a long-lived writer keeps ready: enough for a commit of a few files. */
const BLANKS_WANTED = 6;
/** Missing object fan-out folders (objects/00..ff) a long-lived writer makes per commit, while the disk syncs. */
const FANOUTS_PER_COMMIT = 8;
/** Every AtomicFs holding blanks, whose blanks are removed when the process exits. */
const withBlanks = new Set<AtomicFs>();

const { O_WRONLY, O_NOFOLLOW } = fss.constants;

let counter = 0;

export class AtomicFs {
  readonly tmpDir: string;
  private staged: Map<string, Staged> | null = null;
  private tmpReady = false;
  private readonly gitdirPrefix: string;
  /** isomorphic-git stats the git dir on every call (is it a `.git` file?); it is a directory for good. */
  private gitdirStats: fss.Stats | null = null;
  private readonly objectsDir: string;
  private readonly spareNames = new Map<string, readonly [string, string]>();
  private blanks: string[] = [];
  private retired: string[] = [];
  /** Object fan-out folders not made yet (null: not looked at yet). */
  private missingFanouts: string[] | null = null;
  private commits = 0;
  /** The object isomorphic-git's FileSystem binds: promise-style fs methods. */
  readonly promises;

  constructor(gitdir: string) {
    this.tmpDir = join(gitdir, TMP_DIR);
    this.gitdirPrefix = join(gitdir) + sep;
    this.objectsDir = join(gitdir, 'objects') + sep;
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
      // isomorphic-git asks whether each new object exists before writing it: usually not.
      stat: async (path: string) => {
        if (path === gitdir) return (this.gitdirStats ??= present(path, fss.statSync));
        return present(this.staged?.get(path)?.temp ?? path, fss.statSync);
      },
      lstat: async (path: string) => present(this.staged?.get(path)?.temp ?? path, fss.lstatSync),
      readdir: async (path: string) => fss.readdirSync(path),
      readlink: async (path: string) => fss.readlinkSync(path),
      symlink: async (target: string, path: string) => fss.symlinkSync(target, path),
      chmod: async (path: string, mode: number) => fss.chmodSync(path, mode),
    };
  }

  /** Write `data` to `path` atomically: temp file, fsync, rename. */
  async writeFile(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void> {
    const target: TempFile = this.staged ? this.reusableTemp(path) : { temp: this.tempPath() };
    const { temp } = target;
    const fd = target.fd ?? fss.openSync(temp, 'w', options?.mode ?? 0o666);
    try {
      fss.writeFileSync(fd, data);
      // a reused file may hold longer content; cutting it down within its last block frees nothing
      if (target.fd !== undefined && !target.empty) fss.ftruncateSync(fd, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
      if (this.staged) {
        const previous = this.staged.get(path);
        this.staged.set(path, { temp, fd, keep: target.keep, spare: target.spare, synced: startSync(fd) });
        if (previous) void discardWhenSynced(previous);
        return;
      }
      await sync(fd);
      fss.closeSync(fd);
    } catch (err) {
      discard({ temp, fd, spare: target.spare });
      throw err;
    }
    this.renameIntoPlace(temp, path);
  }

  /** For a staged write of `path`: the file to write into, and where to keep the one it replaces. */
  private reusableTemp(path: string): TempFile {
    if (path.startsWith(this.gitdirPrefix) && !path.startsWith(this.objectsDir)) {
      const names = this.spareNamesOf(path);
      for (const [mine, other] of [names, [names[1], names[0]]] as const) {
        const fd = openExisting(mine);
        if (fd === null) continue;
        // the file replaced now is kept under `other`: the name to try first next time
        this.spareNames.set(path, [other, mine]);
        return { temp: mine, fd, keep: { name: other, as: 'spare' }, spare: true };
      }
      return { temp: this.tempPath(), keep: { name: names[0], as: 'spare' } };
    }
    const object = path.startsWith(this.objectsDir);
    // A work-tree file replaced by a long-lived writer is retired (a one-shot writer lets it go).
    const keep: KeepOld | undefined = this.commits > 0 && !object ? { name: this.blankPath(), as: 'retired' } : undefined;
    const pools = object ? [this.retired, this.blanks] : [this.blanks];
    for (const pool of pools) {
      for (let name = pool.pop(); name; name = pool.pop()) {
        const fd = openExisting(name);
        if (fd !== null) return { temp: name, fd, keep, empty: pool === this.blanks };
      }
    }
    return { temp: this.tempPath(), keep };
  }

  private spareNamesOf(path: string): readonly [string, string] {
    let names = this.spareNames.get(path);
    if (!names) {
      const id = createHash('sha1').update(path).digest('hex').slice(0, 20);
      names = [join(this.tmpDir, `spare-${id}-a`), join(this.tmpDir, `spare-${id}-b`)];
      this.spareNames.set(path, names);
    }
    return names;
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

  /** Wait until every staged write is durable (their fsyncs started as they were staged), then rename each into place. */
  async publish(): Promise<void> {
    const staged = this.staged;
    this.staged = null;
    if (!staged) return;
    try {
      // A long-lived writer makes the blanks for its next commits while the disk syncs.
      if (this.commits > 0) this.refill();
      await Promise.all([...staged.values()].map(({ synced }) => synced));
    } catch (err) {
      await Promise.all([...staged.values()].map(discardWhenSynced));
      throw err;
    }
    let renamed = 0;
    for (const [path, { temp, fd, keep }] of staged) {
      fss.closeSync(fd);
      if (keep && keepAside(path, keep) && keep.as === 'retired') this.addTo(this.retired, keep.name);
      this.renameIntoPlace(temp, path);
      crashPoint(`rename-${++renamed}`);
    }
    this.commits++;
  }

  /**
   * Top up the blanks (and make a few missing fan-out folders), on this thread
   * while the thread pool runs the fsyncs it would otherwise wait for: the inode
   * allocations run beside the disk's work, not on the write path (in the pool
   * they would queue behind the fsyncs, and cost a hand-over each). Never fails:
   * a blank is an optimisation only.
   */
  private refill(): void {
    this.makeFanouts();
    while (this.blanks.length < BLANKS_WANTED) {
      const name = this.blankPath();
      try {
        fss.closeSync(fss.openSync(name, 'wx'));
      } catch {
        return; // no blank this time
      }
      this.addTo(this.blanks, name);
    }
  }

  /**
   * Make a few of the 256 object fan-out folders that do not exist yet. Git makes
   * each when the first object goes in it, so in a new repository (or one just
   * packed by gc) most early writes would make one, a directory's inode and block
   * on the write path; here they are made while the disk syncs an earlier write.
   */
  private makeFanouts(): void {
    if (this.missingFanouts === null) {
      let present: Set<string>;
      try {
        present = new Set(fss.readdirSync(this.objectsDir));
      } catch {
        present = new Set();
      }
      this.missingFanouts = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).filter((name) => !present.has(name));
    }
    for (const name of this.missingFanouts.splice(0, FANOUTS_PER_COMMIT)) {
      try {
        fss.mkdirSync(join(this.objectsDir, name));
      } catch {
        // made by now, or not makeable: the write that needs it makes it (renameIntoPlace)
      }
    }
  }

  private addTo(pool: string[], name: string): void {
    pool.push(name);
    withBlanks.add(this);
  }

  /** Remove this writer's blanks and retired files (at exit: no other process uses them). */
  dropBlanks(): void {
    for (const name of [...this.blanks.splice(0), ...this.retired.splice(0)]) fss.rmSync(name, { force: true });
  }

  /** Drop every staged write: nothing reaches its final path. */
  async abandon(): Promise<void> {
    const staged = this.staged;
    this.staged = null;
    if (staged) await Promise.all([...staged.values()].map(discardWhenSynced));
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

  private blankPath(): string {
    return join(this.tmpDir, `blank-${process.pid}-${++counter}`);
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

/** The stats of `path`, or the cheap ENOENT error when it is missing. */
function present(path: string, stat: typeof fss.statSync): fss.Stats {
  const stats = stat(path, { throwIfNoEntry: false });
  if (!stats) throw missing(path);
  return stats;
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

/** Start the fsync of a staged file; its failure is reported when publish() awaits it. */
function startSync(fd: number): Promise<void> {
  const synced = sync(fd);
  synced.catch(() => undefined); // awaited later: not an unhandled rejection meanwhile
  return synced;
}

/** Discard a staged write once its fsync has finished (closing the fd under it could sync another file that took its number). */
async function discardWhenSynced(staged: Staged): Promise<void> {
  await staged.synced.catch(() => undefined);
  discard(staged);
}

function discard({ temp, fd, spare }: Pick<Staged, 'temp' | 'fd' | 'spare'>): void {
  try {
    fss.closeSync(fd);
  } catch {
    // already closed
  }
  if (!spare) fss.rmSync(temp, { force: true });
}

/** An existing file opened for writing, or null when there is none by that name. */
function openExisting(name: string): number | null {
  try {
    return fss.openSync(name, O_WRONLY | O_NOFOLLOW);
  } catch {
    return null;
  }
}

/**
 * Link the file at `path`, about to be replaced, under a name in the temp dir so it
 * is not freed. A spare name may hold a stale file and is taken over. False when
 * nothing was kept (no file there yet, or no hard links on this file system).
 */
function keepAside(path: string, { name, as }: KeepOld): boolean {
  try {
    fss.linkSync(path, name);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || as !== 'spare') return false;
    fss.rmSync(name, { force: true });
    try {
      fss.linkSync(path, name);
      return true;
    } catch {
      return false;
    }
  }
}

process.on('exit', () => {
  for (const atomic of withBlanks) atomic.dropBlanks();
});
