/**
 * A stage: the commits one publication adds, kept apart from everything else
 * until `publish()`. `store.begin()` hands out a new one per write (or per
 * group of writes); a fetch, a read or another stage never sees its files, and
 * abandoning it removes only its own.
 *
 * Staging writes each new object, and at publish each work-tree file, to a
 * fresh temp file in `.git/gitstate-tmp/`, written and fsynced on the thread
 * pool while the caller goes on. A stage of several commits (a group, see
 * core/writer.ts) keeps its objects and writes them at publish as one pack
 * (pack-write.ts): two files to make durable instead of one per object.
 * Publishing follows git's protocol:
 *  1. take `index.lock`, then `refs/heads/main.lock` (made only if none exists:
 *     lockfile.ts), as native git does, so the two exclude each other;
 *  2. check the branch still points where the stage began (else BranchMovedError:
 *     nothing was renamed, the caller re-applies its writes on the new HEAD);
 *  3. write the journal (in place: it is gitstate's own, never read by git), and
 *     the new ref into its lock file; wait for every fsync;
 *  4. rename the objects (never over an existing one; a pack before its index)
 *     and the work-tree files into place; fsync their folders; meanwhile build
 *     the new index from the renamed files' stat data into `index.lock`, and
 *     fsync it;
 *  5. rename the ref lock, then the index lock, into place; fsync their folders;
 *  6. clear the journal.
 * A crash after step 3 leaves the journal, from which the next writer puts the
 * work tree and index back in line with HEAD (see core/recovery.ts).
 */
import { existsSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { BranchMovedError, PathError, RepoError } from '../errors.js';
import { indexRefusal, readIndexFile } from './index-patch.js';
import type { Clock } from '../base/clock.js';
import type { FileChange, Person } from '../core/types.js';
import { crashPoint } from './crash-points.js';
import { GitLockFile, type GitLockOptions } from './lockfile.js';
import type { Disk } from './disk.js';
import { commitContent, encodeObject, objectOid, treeContent, type ObjectType, type Signature, type TreeEntry } from './objects.js';
import { buildPack, packEntry, type PackEntry } from './pack-write.js';
import { blobInTree, type GitStore, type Journal } from './store.js';

export const TMP_DIR = 'gitstate-tmp';

interface TempFile {
  path: string;
  /** Settles once the file is written and durable (on the thread pool), or failed. */
  written: Promise<void>;
  /** Renamed into place: no longer ours to remove. */
  placed: boolean;
}

export interface StagedCommit {
  changes: readonly FileChange[];
  message: string;
  author: Person;
  /** Defaults to the author. */
  committer?: Person;
  /** Parents after the stage's current head: a merge commit. */
  otherParents?: readonly string[];
  /** Commit time in ms since the epoch (default: now). */
  time?: number;
  /** Minutes behind UTC, as Date's getTimezoneOffset (default: this process's zone at `time`). */
  timezoneOffset?: number;
}

export interface PublishOptions {
  /** How long to wait for a git lock another process holds. */
  lockTimeoutMs: number;
  clock?: Clock;
  /** Called with git's locks held, before anything is placed and again just before the ref moves: throws when gitstate's repository lock was lost. */
  assertLockHeld?: () => void;
  /** Called as each git lock file is created and once it is gone again (null): the next holder removes one this process left if it dies. */
  onGitLock?: GitLockOptions['onLock'];
}

let counter = 0;

export interface StageMark {
  tip: string | null;
  objects: number;
  files: Map<string, { content: Uint8Array | null; blob: string | null }>;
}

export interface StageOptions {
  /** The objects go into one pack at publish (several commits published together) instead of one loose file each. */
  packed?: boolean;
}

export class Stage {
  private tip: string | null;
  /** The objects this stage adds, in the order staged: a loose temp file each, or a pack entry. */
  private readonly objects = new Map<string, TempFile | PackEntry>();
  private readonly packed: boolean;
  private packWritten = false;
  /** Each path this stage changes: its final content (null: removed) and blob. */
  private files = new Map<string, { content: Uint8Array | null; blob: string | null }>();
  private readonly trees = new Map<string, TreeEntry[]>();
  private readonly commitTrees = new Map<string, string>();
  private readonly temps: TempFile[] = [];
  private finished = false;
  private renames = 0;

  constructor(
    private readonly store: GitStore,
    /** The commit the branch must still point at when this stage is published. */
    readonly base: string | null,
    options: StageOptions = {},
  ) {
    this.tip = base;
    this.packed = Boolean(options.packed);
  }

  /** Whether publishing this stage added a pack (the writer then sees whether small packs pile up). */
  get wrotePack(): boolean {
    return this.packWritten;
  }

  /** The newest commit staged (the base when none is). */
  get head(): string | null {
    return this.tip;
  }

  /** What this stage has made `path`: its bytes, null when removed, undefined when untouched. */
  fileContent(path: string): Uint8Array | null | undefined {
    return this.files.get(path)?.content;
  }

  async treeOf(commit: string): Promise<string> {
    return this.commitTrees.get(commit) ?? this.store.treeOf(commit);
  }

  async readTree(oid: string): Promise<TreeEntry[]> {
    return this.trees.get(oid) ?? this.store.readTree(oid);
  }

  /** The blob of `path` at `commit` (a staged commit or any other), or null. */
  async blobOidAt(commit: string | null, path: string): Promise<string | null> {
    return commit ? blobInTree(await this.treeOf(commit), path, (oid) => this.readTree(oid)) : null;
  }

  /** Stage a commit of `changes` on the current head; returns its id. */
  async commit(request: StagedCommit): Promise<string> {
    this.assertOpen();
    for (const change of request.changes) {
      // static configuration with credentials never enters the repository, whatever path led here
      if (change.path.split('/').pop() === 'config.json') throw new PathError(`refusing to commit ${change.path}: config.json is never stored in the state repo`);
    }
    const parent = this.tip;
    const blobs: Array<[string, string | null]> = request.changes.map((c) => [c.path, c.content ? this.putObject('blob', c.content) : null]);
    const baseTree = parent ? await this.treeOf(parent) : null;
    const tree = (await this.buildTree(baseTree, blobs)) ?? this.putTree([]);
    const time = request.time ?? Date.now();
    const oid = this.putObject(
      'commit',
      commitContent({
        tree,
        parents: parent ? [parent, ...(request.otherParents ?? [])] : [],
        author: signature(request.author, time, request.timezoneOffset),
        committer: signature(request.committer ?? request.author, time, request.timezoneOffset),
        message: request.message,
      }),
    );
    this.commitTrees.set(oid, tree);
    request.changes.forEach((change, i) => this.files.set(change.path, { content: change.content, blob: blobs[i]![1] }));
    this.tip = oid;
    return oid;
  }

  /** Move the head to an existing commit (a fast-forward): `changed` (path -> blob, null: removed) goes into the work tree. */
  async advance(target: string, changed: Record<string, string | null>): Promise<void> {
    this.assertOpen();
    for (const [path, blob] of Object.entries(changed)) this.files.set(path, { content: blob ? await this.store.readBlob(blob) : null, blob });
    this.tip = target;
  }

  /** A point to return to when what is staged after it must be dropped (a write that failed part way). */
  mark(): StageMark {
    return { tip: this.tip, objects: this.objects.size, files: new Map(this.files) };
  }

  /** Drop every commit and object staged since `mark`. */
  rollbackTo(mark: StageMark): void {
    this.assertOpen();
    for (const oid of [...this.objects.keys()].slice(mark.objects)) {
      const staged = this.objects.get(oid)!;
      if (!isPackEntry(staged)) this.discard(staged);
      this.objects.delete(oid);
    }
    this.tip = mark.tip;
    this.files = new Map(mark.files);
  }

  /** Make the staged commits the branch, durably. Abandons the stage on failure. */
  async publish(options: PublishOptions): Promise<void> {
    this.assertOpen();
    if (this.tip === this.base) return this.abandon();
    const { gitdir, dir } = this.store;
    const work = new Map<string, TempFile | null>();
    for (const [path, { content }] of this.files) work.set(path, content ? this.writeTemp(content) : null);
    const pack = this.writePack();
    let keep: string | null = null;
    const disk = this.store.disk;
    const lockOptions = { timeoutMs: options.lockTimeoutMs, clock: options.clock, onLock: options.onGitLock, disk };
    let indexLock: GitLockFile | null = null;
    let refLock: GitLockFile | null = null;
    try {
      indexLock = await GitLockFile.acquire(join(gitdir, 'index'), lockOptions);
      const ref = await this.store.branch();
      refLock = await GitLockFile.acquire(join(gitdir, ref), lockOptions);
      crashPoint('locked');
      // before anything is placed: an index this write cannot rewrite whole stops it here (read once,
      // under index.lock: the same bytes are the base of the new index below)
      const indexBytes = readIndexFile(gitdir);
      const refused = indexRefusal(indexBytes, this.files.keys(), `git -C ${dir}`, gitdir);
      if (refused) throw new RepoError(`${refused.problem}; nothing was committed. ${refused.fix}`);
      const current = await this.store.readBranchTip();
      if (current !== this.base) throw new BranchMovedError(this.base, current);
      const journal: Journal = { pid: process.pid, parent: this.base, target: this.tip, files: [], ...(pack ? { pack: pack.name } : {}) };
      for (const [path, { blob }] of this.files) journal.files.push({ path, before: await this.blobOidAt(this.base, path), after: blob });
      const journaled = this.store.writeJournal(journal);
      journaled.catch(() => undefined); // awaited below, unless the ref write fails first
      refLock.write(Buffer.from(`${this.tip}\n`));
      await settleAll([...this.temps.map((t) => t.written), refLock.sync(), journaled]);
      crashPoint('synced');
      // before anything is placed (and again before the ref moves): a holder whose lock was taken over touches nothing
      options.assertLockHeld?.();

      const dirs = new Set<string>();
      for (const [oid, temp] of this.objects) {
        if (isPackEntry(temp)) continue;
        const target = join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
        if (existsSync(target)) continue; // objects are immutable: never renamed over
        this.place(temp, target, dirs);
      }
      if (pack) {
        const base = packBase(gitdir, pack.name);
        // Until the ref moves its objects are unreachable, and `git repack -a -d` drops unreachable
        // packed objects at once: a .keep holds it back, as git's receive-pack does for a pushed pack
        // (one that is there already is someone else's, and stays).
        keep = keepPack(base);
        if (!existsSync(`${base}.idx`)) {
          // the pack before its index: a reader looks for packs by their index
          this.place(pack.pack, `${base}.pack`, dirs);
          this.place(pack.idx, `${base}.idx`, dirs);
          this.packWritten = true;
        }
      }
      for (const [path, temp] of work) {
        const target = join(dir, path);
        if (temp) this.place(temp, target, dirs);
        else removeWorkFile(disk, dir, path, dirs);
      }
      crashPoint('renamed');

      const index = await this.store.indexWith([...this.files].map(([path, { blob }]) => ({ path, oid: blob })), indexBytes);
      indexLock.write(index);
      await settleAll([...[...dirs].map((d) => disk.syncDir(d)), indexLock.sync()]);
      options.assertLockHeld?.();
      refLock.commit();
      crashPoint('ref-moved');
      indexLock.commit();
      await settleAll([disk.syncDir(dirname(join(gitdir, ref))), disk.syncDir(gitdir)]);
    } catch (err) {
      refLock?.rollback();
      indexLock?.rollback();
      this.abandon();
      // the pack, if it was placed, holds nothing reachable: git's gc may take it
      if (keep) rmSync(keep, { force: true });
      throw err;
    }
    // reachable from the branch now
    if (keep) rmSync(keep, { force: true });
    this.finished = true;
    // an object that was in place already (written meanwhile by native git)
    for (const temp of this.temps) if (!temp.placed) disk.removeSync(temp.path);
    // The commit is durable from here: failing to clear the journal only makes the next writer look.
    try {
      this.store.clearJournal();
    } catch {
      // left for the next writer
    }
    crashPoint('published');
  }

  /** Drop everything staged: its temp files are removed once their fsyncs settle. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    for (const temp of [...this.temps]) this.discard(temp);
  }

  private discard(temp: TempFile): void {
    this.temps.splice(this.temps.indexOf(temp), 1);
    // it may still be being written on the thread pool: removed once that is over
    void temp.written
      .catch(() => undefined)
      .then(() => {
        if (!temp.placed) this.store.disk.removeSync(temp.path);
      });
  }

  private assertOpen(): void {
    if (this.finished) throw new Error('this stage was already published or abandoned');
  }

  private putObject(type: ObjectType, content: Uint8Array): string {
    if (this.packed) {
      const oid = objectOid(type, content);
      if (!this.stored(oid)) this.objects.set(oid, packEntry({ oid, type, content }));
      return oid;
    }
    const { oid, deflated } = encodeObject(type, content);
    if (!this.stored(oid)) this.objects.set(oid, this.writeTemp(deflated));
    return oid;
  }

  /** Whether the object is staged already, or in the repository. */
  private stored(oid: string): boolean {
    return this.objects.has(oid) || existsSync(join(this.store.gitdir, 'objects', oid.slice(0, 2), oid.slice(2))) || this.store.packs.has(oid);
  }

  /** Start writing the pack of the staged objects, when there are any to pack. */
  private writePack(): { name: string; pack: TempFile; idx: TempFile } | null {
    const entries = [...this.objects.values()].filter(isPackEntry);
    if (entries.length === 0) return null;
    const { name, pack, idx } = buildPack(entries);
    return { name, pack: this.writeTemp(pack), idx: this.writeTemp(idx) };
  }

  private putTree(entries: TreeEntry[]): string {
    const oid = this.putObject('tree', treeContent(entries));
    this.trees.set(oid, entries);
    return oid;
  }

  /** Start writing `bytes` to a fresh temp file: the writing and its fsync run while the caller goes on. */
  private writeTemp(bytes: Uint8Array): TempFile {
    const store = this.store;
    const temp: TempFile = { path: newTempPath(store, store.disk), written: Promise.resolve(), placed: false };
    temp.written = store.disk.writeNew(temp.path, bytes).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      // the folder went (someone cleaned .git up): make it again
      store.tempFolderMade = false;
      temp.path = newTempPath(store, store.disk);
      return store.disk.writeNew(temp.path, bytes);
    });
    // awaited at publish; a stage abandoned before then must not leave it unhandled
    temp.written.catch(() => undefined);
    this.temps.push(temp);
    return temp;
  }

  /** Rename a synced temp file to `target`, making missing folders; notes the folders whose entries changed. */
  private place(temp: TempFile, target: string, dirs: Set<string>): void {
    const folder = dirname(target);
    for (let attempt = 0; ; attempt++) {
      for (const made of ensureDir(this.store.disk, folder)) dirs.add(dirname(made));
      try {
        this.store.disk.renameSync(temp.path, target);
        break;
      } catch (err) {
        // a native `git gc` removes object folders it emptied, between our mkdir and rename: make it
        // again, as git's own writers do
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3 || !existsSync(temp.path)) throw err;
      }
    }
    temp.placed = true;
    dirs.add(folder);
    crashPoint(`rename-${++this.renames}`);
  }

  /** Rewrite `base` with `changes` (path -> blob id or null) applied; null when the result is empty. */
  private async buildTree(base: string | null, changes: Array<[string, string | null]>): Promise<string | null> {
    const entries = base ? [...(await this.readTree(base))] : [];
    const byDir = new Map<string, Array<[string, string | null]>>();
    for (const [path, blob] of changes) {
      const slash = path.indexOf('/');
      if (slash < 0) {
        const at = entries.findIndex((e) => e.path === path);
        if (at >= 0 && entries[at]!.type === 'tree') throw new PathError(`cannot write file ${path}: a folder of that name exists`);
        if (at >= 0) entries.splice(at, 1);
        if (blob) entries.push({ mode: '100644', path, oid: blob, type: 'blob' });
      } else {
        const name = path.slice(0, slash);
        const list = byDir.get(name) ?? [];
        list.push([path.slice(slash + 1), blob]);
        byDir.set(name, list);
      }
    }
    for (const [name, sub] of byDir) {
      const at = entries.findIndex((e) => e.path === name);
      const existing = at >= 0 ? entries[at]! : undefined;
      if (existing && existing.type !== 'tree') throw new PathError(`cannot write into folder ${name}: a file of that name exists`);
      const tree = await this.buildTree(existing?.oid ?? null, sub);
      if (at >= 0) entries.splice(at, 1);
      if (tree) entries.push({ mode: '040000', path: name, oid: tree, type: 'tree' });
    }
    return entries.length > 0 ? this.putTree(entries) : null;
  }
}

function isPackEntry(staged: TempFile | PackEntry): staged is PackEntry {
  return 'bytes' in staged;
}

function signature(person: Person, time: number, timezoneOffset = new Date(time).getTimezoneOffset()): Signature {
  return { name: person.name, email: person.email, timestamp: Math.floor(time / 1000), timezoneOffset };
}

/** Wait for every promise to settle (none left running or unhandled), then throw the first failure. */
export async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** A fresh temp file name in the stage folder (made if missing). */
export function newTempPath(store: GitStore, disk: Disk): string {
  const folder = join(store.gitdir, TMP_DIR);
  if (!store.tempFolderMade) {
    ensureDir(disk, folder);
    store.tempFolderMade = true;
  }
  return join(folder, `${process.pid}-${++counter}`);
}

/** Make `folder` and any missing parents; returns the folders made, outermost first. */
function ensureDir(disk: Disk, folder: string): string[] {
  if (existsSync(folder)) return [];
  const made = ensureDir(disk, dirname(folder));
  try {
    disk.mkdirSync(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile by native git
    return made;
  }
  return [...made, folder];
}

/** Make `<base>.keep`; its path, or null when one was there already (not ours to remove). */
function keepPack(base: string): string | null {
  try {
    writeFileSync(`${base}.keep`, `gitstate ${process.pid} on ${hostname()}\n`, { flag: 'wx' });
    return `${base}.keep`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
}

/** A pack's path without its extension: `objects/pack/pack-<name>`. */
export function packBase(gitdir: string, name: string): string {
  return join(gitdir, 'objects', 'pack', `pack-${name}`);
}

/** Remove a work-tree file and the folders it leaves empty, as git does. */
function removeWorkFile(disk: Disk, root: string, path: string, dirs: Set<string>): void {
  const target = join(root, path);
  try {
    lstatSync(target);
  } catch {
    return;
  }
  disk.unlinkSync(target);
  let folder = dirname(target);
  while (folder.length > root.length) {
    try {
      disk.rmdirSync(folder);
    } catch {
      break; // not empty
    }
    dirs.delete(folder);
    folder = dirname(folder);
  }
  // the folder whose entry went (the file's, or the outermost one removed)
  dirs.add(folder);
}


/**
 * Put work-tree files back to the given blobs (null: absent) and point their
 * index entries there, under git's index lock: how an interrupted publication
 * is undone or finished (core/recovery.ts). `rewrite` false: the file is
 * right, only its index entry is brought in line.
 */
export async function resetWorkTree(
  store: GitStore,
  entries: ReadonlyArray<{ path: string; blob: string | null; rewrite: boolean; trustDisk?: boolean }>,
  options: PublishOptions,
): Promise<void> {
  const disk = store.disk;
  const indexLock = await GitLockFile.acquire(join(store.gitdir, 'index'), { timeoutMs: options.lockTimeoutMs, clock: options.clock, onLock: options.onGitLock, disk });
  try {
    const dirs = new Set<string>();
    for (const { path, blob, rewrite } of entries) {
      if (!rewrite) continue;
      const target = join(store.dir, path);
      if (!blob) {
        removeWorkFile(disk, store.dir, path, dirs);
        continue;
      }
      const temp = newTempPath(store, disk);
      await disk.writeNew(temp, await store.readBlob(blob));
      for (const made of ensureDir(disk, dirname(target))) dirs.add(dirname(made));
      disk.renameSync(temp, target);
      dirs.add(dirname(target));
    }
    indexLock.write(await store.indexWith(entries.map((e) => ({ path: e.path, oid: e.blob, trustDisk: e.trustDisk }))));
    await settleAll([...[...dirs].map((d) => disk.syncDir(d)), indexLock.sync()]);
    indexLock.commit();
    await disk.syncDir(store.gitdir);
  } catch (err) {
    indexLock.rollback();
    throw err;
  }
}
