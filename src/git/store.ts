/**
 * The git side of a write: read HEAD and trees, and commit a set of changed
 * paths with plumbing — blobs, only the trees on the changed paths, the commit,
 * a compare-and-swap ref update and the index entries — so the cost of a write
 * does not grow with the number of files in the repository.
 */
import { closeSync, constants, ftruncateSync, lstatSync, openSync, readFileSync, rmSync, writeSync, type BigIntStats } from 'node:fs';
import { IndexPatcher } from './index-patch.js';
import { crashPoint } from './crash-points.js';
import { join } from 'node:path';
import { FileSystem, git, indexManager } from './iso.js';
import type { TreeEntry } from 'isomorphic-git';
import { LockError, PathError, RepoError } from '../errors.js';
import { AtomicFs } from './atomic-fs.js';
import { useNativeZlib } from './native-zlib.js';

export interface Person {
  name: string;
  email: string;
}

export interface FileChange {
  /** Repo-relative POSIX path. */
  path: string;
  /** New content, or null to remove the file. */
  content: Uint8Array | null;
}

export interface CommitRequest {
  changes: readonly FileChange[];
  message: string;
  author: Person;
  /** The commit HEAD must still point at (compare-and-swap); null for the first commit. */
  parent: string | null;
  /** Whether to write the new content into the work tree (false: it is already there). */
  writeWorkTree: boolean;
  /** Checked just before the ref moves: throws if the repository lock was lost. */
  assertLockHeld?: () => void;
  /** Further parents after `parent`: a merge commit. */
  otherParents?: string[];
}

/** What an interrupted write left behind, so the next writer can put things right. */
export interface PendingJournal {
  pid: number;
  parent: string | null;
  files: Array<{ path: string; after: string | null }>;
}

const JOURNAL = 'gitstate-pending.json';
/** Git dirs whose journal this process was the last to write, and left cleared. */
const clearedJournals = new Set<string>();
const OID = /^[0-9a-f]{40}$/;
const TREE_CACHE_LIMIT = 4096;

export class GitStore {
  /** The AtomicFs wrapped once in isomorphic-git's FileSystem (it would re-wrap on every call). */
  readonly fs: AtomicFs;
  readonly atomic: AtomicFs;
  /** isomorphic-git's cache (parsed index, packfile indexes), kept for the life of the store. */
  readonly cache: object = {};
  private readonly trees = new Map<string, TreeEntry[]>();
  /** Commit id -> tree id, for the commits this store read or made. */
  private readonly commitTrees = new Map<string, string>();
  private branchRef: string | null = null;
  private readonly indexPatcher: IndexPatcher;
  /**
   * Whether the index is staged with the objects, made durable in the same round
   * of fsyncs, rather than after the work-tree files are renamed. Its entries then
   * carry the stat data of the temp files, which a rename keeps except for ctime;
   * so only where git ignores ctime (core.trustctime=false, pinned by init).
   */
  private indexWithObjects = false;
  /** The last blob this store wrote, to skip re-hashing the same bytes. */
  private lastBlob: { oid: string; content: Uint8Array } | null = null;

  constructor(
    readonly dir: string,
    readonly gitdir: string = join(dir, '.git'),
  ) {
    this.atomic = new AtomicFs(gitdir);
    this.fs = new FileSystem(this.atomic) as unknown as AtomicFs;
    this.indexPatcher = new IndexPatcher(join(gitdir, 'index'));
  }

  /** Call once before use: makes isomorphic-git's hashing and zlib choices (see chooseSyncHash). */
  async prepare(): Promise<this> {
    await chooseSyncHash();
    useNativeZlib();
    const trustCtime = await git.getConfig({ fs: this.fs, gitdir: this.gitdir, path: 'core.trustctime' });
    this.indexWithObjects = String(trustCtime) === 'false';
    return this;
  }

  /** The branch HEAD points at (`refs/heads/main`); a detached HEAD is an error. */
  async branch(): Promise<string> {
    if (this.branchRef) return this.branchRef;
    const head = readFileSync(join(this.gitdir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) throw new RepoError(`HEAD in ${this.dir} is detached; check out a branch first (git -C ${this.dir} switch main)`);
    this.branchRef = head.slice(5);
    return this.branchRef;
  }

  /** The commit HEAD points at, or null on an unborn branch. */
  async headOid(): Promise<string | null> {
    const ref = await this.branch();
    // Fast path: the loose ref file. Packed refs and anything unusual go through isomorphic-git.
    try {
      const loose = readFileSync(join(this.gitdir, ref), 'utf8').trim();
      if (OID.test(loose)) return loose;
    } catch {
      // not a loose ref
    }
    try {
      return await git.resolveRef({ fs: this.fs, gitdir: this.gitdir, ref });
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return null;
      throw err;
    }
  }

  async treeOf(commit: string): Promise<string> {
    const hit = this.commitTrees.get(commit);
    if (hit) return hit;
    const { commit: c } = await git.readCommit({ fs: this.fs, gitdir: this.gitdir, oid: commit, cache: this.cache });
    this.rememberTree(commit, c.tree);
    return c.tree;
  }

  private rememberTree(commit: string, tree: string): void {
    if (this.commitTrees.size >= TREE_CACHE_LIMIT) this.commitTrees.clear();
    this.commitTrees.set(commit, tree);
  }

  /** Entries of a tree; trees are immutable, so they are cached by id. */
  async readTree(oid: string): Promise<TreeEntry[]> {
    const hit = this.trees.get(oid);
    if (hit) return hit;
    const { tree } = await git.readTree({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
    if (this.trees.size >= TREE_CACHE_LIMIT) this.trees.clear();
    this.trees.set(oid, tree);
    return tree;
  }

  /** The blob id of `path` in `commit`, or null when the path is not there. */
  async blobOidAt(commit: string | null, path: string): Promise<string | null> {
    if (!commit) return null;
    let tree = await this.treeOf(commit);
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const entry = (await this.readTree(tree)).find((e) => e.path === parts[i]);
      if (!entry) return null;
      if (i === parts.length - 1) return entry.type === 'blob' ? entry.oid : null;
      if (entry.type !== 'tree') return null;
      tree = entry.oid;
    }
    return null;
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const { blob } = await git.readBlob({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
    return blob;
  }

  async hashBlob(content: Uint8Array): Promise<string> {
    // Writers check the file on disk against HEAD before every write; most often it
    // is exactly what this store committed last, whose id is known.
    const known = this.lastBlob;
    if (known && Buffer.compare(Buffer.from(known.content), Buffer.from(content)) === 0) return known.oid;
    return (await git.hashBlob({ object: content })).oid;
  }

  /**
   * Make one commit of `changes` and move the branch to it. Objects and work-tree
   * files are staged and made durable together; then the ref (compare-and-swap
   * against `parent`) and the index are updated. A journal records the write
   * while it is in flight so an interrupted one can be undone by the next writer.
   */
  async commit(request: CommitRequest): Promise<string> {
    const { changes, parent } = request;
    for (const change of changes) {
      // Static configuration with credentials never enters the repository, whatever path led here.
      if (change.path.split('/').pop() === 'config.json') throw new PathError(`refusing to commit ${change.path}: config.json is never stored in the state repo`);
    }
    const blobs = new Map<string, string | null>();
    return this.moveBranch(parent, changes, request.writeWorkTree, blobs, request.assertLockHeld, async () => {
      const tree = await withSyncDeflate(async () => {
        for (const change of changes) {
          const blob = change.content ? await git.writeBlob({ fs: this.fs, gitdir: this.gitdir, blob: change.content }) : null;
          if (blob && change.content) this.lastBlob = { oid: blob, content: change.content };
          blobs.set(change.path, blob);
        }
        const baseTree = parent ? await this.treeOf(parent) : null;
        return (await this.buildTree(baseTree, [...blobs])) ?? (await this.writeTree([]));
      });
      const oid = await git.writeCommit({
        fs: this.fs,
        gitdir: this.gitdir,
        commit: {
          message: request.message,
          tree,
          parent: parent ? [parent, ...(request.otherParents ?? [])] : [],
          author: signature(request.author),
          committer: signature(request.author),
        },
      });
      this.rememberTree(oid, tree);
      return oid;
    });
  }

  /**
   * Fast-forward: move the branch from `parent` to the existing commit `target`,
   * putting the files that differ into the work tree and the index. Same
   * journal and compare-and-swap as a commit.
   */
  async advance(parent: string | null, target: string, changed: Record<string, string | null>, assertLockHeld?: () => void): Promise<string> {
    const blobs = new Map(Object.entries(changed));
    const changes: FileChange[] = [];
    for (const [path, blob] of blobs) changes.push({ path, content: blob ? await this.readBlob(blob) : null });
    return this.moveBranch(parent, changes, true, blobs, assertLockHeld, async () => target);
  }

  /**
   * The second half of every branch move: stage the work-tree files, make the
   * target (a new commit, or an existing one), check the branch is still at
   * `parent`, journal, make everything durable, then move the ref and update the index.
   */
  private async moveBranch(
    parent: string | null,
    changes: readonly FileChange[],
    writeWorkTree: boolean,
    blobs: Map<string, string | null>,
    assertLockHeld: (() => void) | undefined,
    makeTarget: () => Promise<string>,
  ): Promise<string> {
    this.atomic.stage();
    let oid: string;
    let settleIndex: (() => void) | undefined;
    try {
      if (writeWorkTree) {
        for (const change of changes) if (change.content) await this.atomic.writeFile(join(this.dir, change.path), change.content);
      }
      oid = await makeTarget();
      crashPoint('staged');
      const current = await this.headOid();
      if (current !== parent) {
        throw new LockError(`the branch moved from ${short(parent)} to ${short(current)} during this write; nothing was committed`);
      }
      assertLockHeld?.();
      // Staged like the objects, and staged after them: made durable in the same round
      // of fsyncs, but renamed into place only after every object and file it relies on.
      await git.writeRef({ fs: this.fs, gitdir: this.gitdir, ref: await this.branch(), value: oid, force: true });
      if (this.indexWithObjects) settleIndex = await this.updateIndex(blobs, (path) => this.atomic.stagedStats(path) ?? lstatOrNull(path, true));
      await this.writeJournal({ pid: process.pid, parent, files: [...blobs].map(([path, after]) => ({ path, after })) });
      crashPoint('journaled');
    } catch (err) {
      await this.atomic.abandon();
      this.indexPatcher.forget();
      throw err;
    }
    await this.atomic.publish();
    if (writeWorkTree) {
      for (const c of changes) if (c.content === null) rmSync(join(this.dir, c.path), { force: true });
    }
    crashPoint('published');
    // Otherwise the index needs the stat data of the files as renamed, so it comes after.
    if (!settleIndex) {
      this.atomic.stage();
      try {
        settleIndex = await this.updateIndex(blobs);
      } catch (err) {
        await this.atomic.abandon();
        throw err;
      }
      await this.atomic.publish();
    }
    settleIndex();
    crashPoint('indexed');
    await this.clearJournal();
    return oid;
  }

  /**
   * Point the index entries of `paths` at the given blobs (null: remove), with
   * the stat data `statOf` gives (by default the work tree's). Returns what to
   * call once the new index is in place.
   */
  async updateIndex(blobs: Iterable<[string, string | null]>, statOf: (path: string) => BigIntStats | null = (path) => lstatOrNull(path, true)): Promise<() => void> {
    const list = [...blobs];
    if (list.length === 1 && list[0]![1]) {
      // The common case, one existing file rewritten: patch its entry in place.
      const [path, oid] = list[0]! as [string, string];
      const stats = statOf(join(this.dir, path));
      const patched = stats && this.indexPatcher.patch(path, oid, stats);
      if (patched) {
        await this.atomic.writeFile(join(this.gitdir, 'index'), patched);
        return () => this.indexPatcher.written(patched);
      }
    }
    this.indexPatcher.forget();
    const entries = list.map(([path, oid]) => ({ path, oid, stats: oid ? statOf(join(this.dir, path)) : null }));
    await indexManager().acquire({ fs: this.fs, gitdir: this.gitdir, cache: this.cache }, async (index) => {
      for (const { path, oid, stats } of entries) {
        if (oid && stats) index.insert({ filepath: path, oid, stats: indexStats(stats) });
        else if (index.has({ filepath: path })) index.delete({ filepath: path });
      }
    });
    return () => {};
  }

  async readJournal(): Promise<PendingJournal | null> {
    try {
      return JSON.parse(readFileSync(join(this.gitdir, JOURNAL), 'utf8')) as PendingJournal | null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      // A torn journal still means a write was interrupted; recover from HEAD alone.
      return { pid: 0, parent: null, files: [] };
    }
  }

  /**
   * No fsync: losing it on power loss only turns a rollback into a recovery commit.
   * Written in place, never replaced or removed (cleared, it holds `null`), so a
   * write frees no inode and no block for it.
   */
  private async writeJournal(journal: PendingJournal | null): Promise<void> {
    clearedJournals.delete(this.gitdir);
    const bytes = Buffer.from(JSON.stringify(journal));
    const fd = openSync(join(this.gitdir, JOURNAL), constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
      ftruncateSync(fd, bytes.length);
    } finally {
      closeSync(fd);
    }
  }

  /** Every caller has just written or read a journal, so the file is there to overwrite. */
  async clearJournal(): Promise<void> {
    await this.writeJournal(null);
    clearedJournals.add(this.gitdir);
  }

  /**
   * Whether this process cleared the journal after the last write to it. Only
   * a holder of the lock writes it: while the lock has been held without a
   * break since then, the journal is known to be clear without reading it.
   */
  journalCleared(): boolean {
    return clearedJournals.has(this.gitdir);
  }

  /** Rewrite `base` with `changes` (path -> blob id or null) applied; null when the result is empty. */
  private async buildTree(base: string | null, changes: Array<[string, string | null]>): Promise<string | null> {
    const entries = base ? [...(await this.readTree(base))] : [];
    const byDir = new Map<string, Array<[string, string | null]>>();
    for (const [path, blob] of changes) {
      const slash = path.indexOf('/');
      if (slash < 0) {
        const at = entries.findIndex((e) => e.path === path);
        if (at >= 0 && entries[at]!.type === 'tree') throw new RepoError(`cannot write file ${path}: a folder of that name exists`);
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
      if (existing && existing.type !== 'tree') throw new RepoError(`cannot write into folder ${name}: a file of that name exists`);
      const tree = await this.buildTree(existing?.oid ?? null, sub);
      if (at >= 0) entries.splice(at, 1);
      if (tree) entries.push({ mode: '040000', path: name, oid: tree, type: 'tree' });
    }
    return entries.length > 0 ? this.writeTree(entries) : null;
  }

  private async writeTree(entries: TreeEntry[]): Promise<string> {
    const oid = await git.writeTree({ fs: this.fs, gitdir: this.gitdir, tree: entries });
    this.trees.set(oid, entries);
    return oid;
  }
}

function lstatOrNull(path: string, bigint: true): BigIntStats | null {
  try {
    return lstatSync(path, { bigint });
  } catch {
    return null;
  }
}

/** isomorphic-git's index takes Stats-shaped numbers: seconds and nanoseconds from the exact bigint times. */
function indexStats(s: BigIntStats) {
  const time = (ns: bigint) => ({ seconds: Number(ns / 1_000_000_000n), nanoseconds: Number(ns % 1_000_000_000n) });
  const c = time(s.ctimeNs);
  const m = time(s.mtimeNs);
  return {
    ctimeSeconds: c.seconds,
    ctimeNanoseconds: c.nanoseconds,
    mtimeSeconds: m.seconds,
    mtimeNanoseconds: m.nanoseconds,
    dev: Number(s.dev),
    ino: Number(s.ino),
    mode: Number(s.mode),
    uid: Number(s.uid),
    gid: Number(s.gid),
    size: Number(s.size),
  };
}

function signature(person: Person) {
  const now = Date.now();
  return { name: person.name, email: person.email, timestamp: Math.floor(now / 1000), timezoneOffset: new Date(now).getTimezoneOffset() };
}

function short(oid: string | null): string {
  return oid ? oid.slice(0, 7) : '(none)';
}

/*
 * isomorphic-git picks its deflate and SHA-1 once, on first use: the web
 * CompressionStream and crypto.subtle when those globals exist. On Node 20 each
 * costs a thread-pool round trip per object (~0.6 ms per deflate, ~0.1 ms per
 * hash); its synchronous fallbacks, pako (made native, see native-zlib.ts)
 * and sha.js, take microseconds for our small objects. So both choices are made
 * with the globals hidden. (The full-index
 * checksum then also uses sha.js: ~2 ms for a 2,000-file index, paid only when a
 * file is added or removed — an update patches the index, see index-patch.ts.)
 */
let hashChosen: Promise<void> | null = null;
let deflateChosen = false;

/** Make isomorphic-git's SHA-1 choice (by hashing the empty blob) with crypto.subtle hidden. */
function chooseSyncHash(): Promise<void> {
  hashChosen ??= hidingGlobals(() => git.hashBlob({ object: new Uint8Array(0) })).then(() => undefined);
  return hashChosen;
}

/** Run the first object writes of the process with CompressionStream hidden: that is when deflate is chosen. */
async function withSyncDeflate<T>(fn: () => Promise<T>): Promise<T> {
  if (deflateChosen) return fn();
  try {
    return await hidingGlobals(fn);
  } finally {
    deflateChosen = true;
  }
}

async function hidingGlobals<T>(fn: () => Promise<T>): Promise<T> {
  const g = globalThis as { CompressionStream?: unknown };
  const savedStream = g.CompressionStream;
  const savedCrypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  g.CompressionStream = undefined;
  Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true, writable: true });
  try {
    return await fn();
  } finally {
    g.CompressionStream = savedStream;
    if (savedCrypto) Object.defineProperty(globalThis, 'crypto', savedCrypto);
  }
}
