/**
 * GitStore: the git layer. Everything above it reaches git through here (this
 * folder is the only one that loads isomorphic-git): reading commits, trees and
 * blobs; refs, config, remotes and status; and writing, through a Stage per
 * publication (`begin()`).
 *
 * isomorphic-git is handed Node's own fs. Writes do not go through it: the
 * stage writes objects, work-tree files, the ref and the index itself, with
 * git's lock protocol (stage.ts).
 */
import type * as NodeFs from 'node:fs';
import { createRequire } from 'node:module';
import { appendFileSync, constants, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { nodeDisk, writeAll, type Disk } from './disk.js';
import { join } from 'node:path';
import { NotFoundError, RepoError } from '../errors.js';
import { indexManager, iso, isoModels } from './iso.js';
import { commitTree, parseCommit, parseTree, readLoose, type LooseObject } from './loose.js';
import { readConfig, readIdentity, type Identity } from './config.js';
import { blobOid, type TreeEntry } from './objects.js';
import { indexRefusalAt, readIndexFile, updateIndex } from './index-patch.js';
import { PackIndexes } from './packs.js';
import { mergePacks, wholeEntries, type PackEntry } from './pack-write.js';
import { GitMissingError, nativeBlobs, nativeDiskChanges, runGit, type DiskChange } from './native.js';
import { newTempPath, packBase, settleAll, Stage, TMP_DIR } from './stage.js';

const require = createRequire(import.meta.url);
/** node:fs as a whole, for isomorphic-git. Required when needed: in the CLI bundle, `import * as` copies its ~100 exports on every call. */
const wholeFs = (): typeof NodeFs => require('node:fs') as typeof NodeFs;

export type { TreeEntry } from './objects.js';

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; timestamp: number; timezoneOffset: number };
  committer: { name: string; email: string; timestamp: number; timezoneOffset: number };
  message: string;
}

/** What a publication in flight records, so the next writer can finish or undo an interrupted one. */
export interface Journal {
  pid: number;
  /** The commit the branch pointed at before. */
  parent: string | null;
  /** The commit the branch was moving to. */
  target: string | null;
  /** Every path the publication changes, with its blob before and after (null: absent). */
  files: Array<{ path: string; before: string | null; after: string | null }>;
  /** The name of the pack it places (a group's objects), held back from git's gc by a .keep until the branch moves. */
  pack?: string;
}

/** One row of `statusMatrix`: [path, HEAD, work tree, index] as isomorphic-git numbers them. */
export type StatusRow = [string, number, number, number];

/** The journal of the publication in flight; empty when none is. */
const JOURNAL = 'gitstate-pending.json';
const OID = /^[0-9a-f]{40}$/;
/** The branch gitstate keeps its state on. */
const MAIN = 'refs/heads/main';
const CACHE_LIMIT = 4096;
/** Below this many blobs a git process costs more than reading them one by one. */
const PRELOAD_MIN = 4;
const PRELOAD_LIMIT = 32 * 1024 * 1024;
/** Small packs of group commits are merged once there are this many (git's own gc.autoPackLimit is 50). */
const COMPACT_AT = 16;
/** A pack above this size is not merged again: later merges start a new one. */
const COMPACT_SIZE = 1024 * 1024;

export class GitStore {
  /** Node's fs, wrapped once in isomorphic-git's FileSystem (it would re-wrap on every call). */
  private wrappedFs: unknown = null;
  /** isomorphic-git's cache (parsed packfile indexes), kept for the life of the store. */
  private readonly cache: object = {};
  private readonly trees = new Map<string, TreeEntry[]>();
  /** Blobs read ahead by `preloadBlobs`. */
  private readonly preloaded = new Map<string, Uint8Array>();
  private readonly commitTrees = new Map<string, string>();

  readonly gitdir: string;
  /** How the write path changes the disk (a test can stand in between). */
  readonly disk: Disk;
  /** The packs' object ids, so a stage never writes a loose copy of a packed object. */
  readonly packs: PackIndexes;
  /** The stage folder (.git/gitstate-tmp) is known to exist; cleared when swept. */
  tempFolderMade = false;

  constructor(
    readonly dir: string,
    options: { disk?: Disk } = {},
  ) {
    this.gitdir = join(dir, '.git');
    this.disk = options.disk ?? nodeDisk;
    this.packs = new PackIndexes(this.gitdir);
  }

  private get fs(): unknown {
    this.wrappedFs ??= new (isoModels().FileSystem)(wholeFs() as never);
    return this.wrappedFs;
  }

  /** A new empty repository whose branch is main. */
  static async init(dir: string, options: { disk?: Disk } = {}): Promise<GitStore> {
    const store = new GitStore(dir, options);
    await iso().init({ fs: store.fs as never, dir, defaultBranch: 'main' });
    return store;
  }

  private get args() {
    return { fs: this.fs as never, dir: this.dir, gitdir: this.gitdir, cache: this.cache };
  }

  // ---- refs ----------------------------------------------------------------

  /**
   * The branch a publication moves: main, which HEAD must name. Read at every
   * publication, not once: a user may detach HEAD or switch branches beside a
   * long-running process (the MCP server), and a write then would move main
   * under a work tree checked out from something else.
   */
  async branch(): Promise<string> {
    const problem = this.headProblem();
    if (problem) throw new RepoError(problem);
    return MAIN;
  }

  /** What keeps HEAD from naming main (said with the way back), or null when it names it. */
  headProblem(): string | null {
    const head = readFileSync(join(this.gitdir, 'HEAD'), 'utf8').trim();
    if (head === `ref: ${MAIN}`) return null;
    const dir = this.dir;
    if (existsSync(join(this.gitdir, 'rebase-merge')) || existsSync(join(this.gitdir, 'rebase-apply'))) {
      return `a rebase is in progress in ${dir}; gitstate writes to main once it is over (git -C ${dir} rebase --continue, or --abort)`;
    }
    if (!head.startsWith('ref: ')) return `HEAD in ${dir} is detached; gitstate writes to main: switch back to it (git -C ${dir} switch main)`;
    return `HEAD in ${dir} is on branch ${head.slice(5).replace(/^refs\/heads\//, '')}; gitstate keeps its state on main: switch back to it (git -C ${dir} switch main)`;
  }

  /** The commit main points at, or null while it is unborn. */
  async headOid(): Promise<string | null> {
    return this.readBranchTip();
  }

  /**
   * Main's commit as it is on disk now (the loose ref, else packed-refs), or null. Reads go by
   * main whatever HEAD names; writes refuse a HEAD that does not name it (`branch`).
   */
  async readBranchTip(): Promise<string | null> {
    const ref = MAIN;
    try {
      const loose = readFileSync(join(this.gitdir, ref), 'utf8').trim();
      if (OID.test(loose)) return loose;
    } catch {
      // not a loose ref: packed, or unborn
    }
    return this.resolveRef(ref);
  }

  /** A ref's commit, or null when it does not exist. */
  async resolveRef(ref: string): Promise<string | null> {
    // a loose ref (what git writes on a fetch or commit) is read here; packed and symbolic ones through isomorphic-git
    if (ref.startsWith('refs/')) {
      try {
        const loose = readFileSync(join(this.gitdir, ref), 'utf8').trim();
        if (OID.test(loose)) return loose;
      } catch {
        // not a loose ref
      }
    }
    try {
      return await iso().resolveRef({ fs: this.fs as never, gitdir: this.gitdir, ref });
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return null;
      throw err;
    }
  }

  /** The full id of an abbreviated one (NotFoundError when none or several match). */
  async expandOid(short: string): Promise<string> {
    try {
      return await iso().expandOid({ ...this.args, oid: short });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'AmbiguousError') throw new NotFoundError(`revision ${short} is ambiguous; give more characters`);
      throw new NotFoundError(`unknown revision ${short}`);
    }
  }

  // ---- objects ---------------------------------------------------------------

  async readCommit(oid: string): Promise<CommitInfo> {
    const stored = this.storedCommit(oid);
    if (stored) return stored;
    const { commit } = await iso().readCommit({ ...this.args, oid });
    this.rememberTree(oid, commit.tree);
    return { oid, tree: commit.tree, parents: commit.parent, author: commit.author, committer: commit.committer, message: commit.message };
  }

  /**
   * A commit when it is read without isomorphic-git (loose, or in a pack small
   * enough to read, see packs.ts); null otherwise (a clone's big pack), and the
   * caller reads it another way.
   */
  storedCommit(oid: string): CommitInfo | null {
    const stored = this.readStored(oid);
    const parsed = stored?.type === 'commit' ? parseCommit(stored.content) : null;
    if (!parsed) return null;
    this.rememberTree(oid, parsed.tree);
    return { oid, ...parsed };
  }

  async treeOf(commit: string): Promise<string> {
    return this.storedTreeOf(commit) ?? (await this.readCommit(commit)).tree;
  }

  /** The tree a commit names, when the commit is read here (no isomorphic-git); null otherwise. */
  storedTreeOf(commit: string): string | null {
    const hit = this.commitTrees.get(commit);
    if (hit) return hit;
    const stored = this.readStored(commit);
    if (stored?.type !== 'commit') return null;
    const tree = commitTree(stored.content);
    this.rememberTree(commit, tree);
    return tree;
  }

  private rememberTree(commit: string, tree: string): void {
    if (this.commitTrees.size >= CACHE_LIMIT) this.commitTrees.clear();
    this.commitTrees.set(commit, tree);
  }

  /** Entries of a tree; trees are immutable, so they are cached by id. */
  async readTree(oid: string): Promise<TreeEntry[]> {
    return this.storedTree(oid) ?? this.rememberEntries(oid, (await iso().readTree({ ...this.args, oid })).tree as TreeEntry[]);
  }

  /** A tree's entries when it is read here (loose, or in a pack up to 2 MiB); null otherwise. */
  storedTree(oid: string): TreeEntry[] | null {
    const hit = this.trees.get(oid);
    if (hit) return hit;
    const stored = this.readStored(oid);
    return stored?.type === 'tree' ? this.rememberEntries(oid, parseTree(stored.content)) : null;
  }

  private rememberEntries(oid: string, entries: TreeEntry[]): TreeEntry[] {
    if (this.trees.size >= CACHE_LIMIT) this.trees.clear();
    this.trees.set(oid, entries);
    return entries;
  }

  /** An object read here, loose or in a pack up to 2 MiB (see packs.ts); null: ask isomorphic-git. */
  private readStored(oid: string): LooseObject | null {
    return readLoose(this.gitdir, oid) ?? this.packs.read(oid);
  }

  /** The blob id of `path` in `commit`, or null when the path is not there. */
  async blobOidAt(commit: string | null, path: string): Promise<string | null> {
    return commit ? blobInTree(await this.treeOf(commit), path, (oid) => this.readTree(oid)) : null;
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const preloaded = this.preloaded.get(oid);
    if (preloaded) return preloaded;
    const loose = this.readStored(oid);
    if (loose?.type === 'blob') return loose.content;
    const { blob } = await iso().readBlob({ ...this.args, oid });
    return blob;
  }

  /**
   * Read these blobs ahead: here when they are loose or in a pack up to 2 MiB,
   * the rest in one native git process where installed (not one by one through
   * isomorphic-git). A pull then reads every incoming file from memory. Blobs
   * never change, so what is kept stays right; at most PRELOAD_LIMIT bytes are.
   */
  async preloadBlobs(oids: string[]): Promise<void> {
    let bytes = [...this.preloaded.values()].reduce((n, b) => n + b.byteLength, 0);
    const keep = (oid: string, blob: Uint8Array): boolean => {
      if (bytes + blob.byteLength > PRELOAD_LIMIT) return false;
      this.preloaded.set(oid, blob);
      bytes += blob.byteLength;
      return true;
    };
    // blobs read here (loose, or in a pack up to 2 MiB) are kept as read; only the others need a git process
    const wanted: string[] = [];
    for (const oid of new Set(oids)) {
      if (this.preloaded.has(oid)) continue;
      const stored = this.readStored(oid);
      if (stored?.type !== 'blob') wanted.push(oid);
      else if (!keep(oid, stored.content)) return;
    }
    if (wanted.length < PRELOAD_MIN) return;
    const blobs = await nativeBlobs(this.gitdir, wanted);
    for (const [oid, blob] of blobs ?? []) if (!keep(oid, blob)) return;
  }

  /** user.name / user.email from the repository's own config (no isomorphic-git, no child process). */
  identity(): Identity {
    return readIdentity(this.gitdir);
  }

  /** The id `content` has as a blob. */
  hashBlob(content: Uint8Array): string {
    return blobOid(content);
  }

  /** Is `ancestor` reachable from `descendant`? (isomorphic-git's walk; see ancestry.ts for the fast path.) */
  isDescendent(descendant: string, ancestor: string): Promise<boolean> {
    return iso().isDescendent({ ...this.args, oid: descendant, ancestor, depth: -1 });
  }

  async findMergeBase(a: string, b: string): Promise<string | null> {
    const [base] = await iso().findMergeBase({ ...this.args, oids: [a, b] });
    return base ?? null;
  }

  // ---- config, remotes, status ----------------------------------------------

  /** A value from the repository's own config, or undefined (git/config.ts reads it as git does; isomorphic-git writes it). */
  async getConfig(path: string): Promise<string | undefined> {
    return readConfig(this.gitdir, path);
  }

  /**
   * Set (or with undefined, unset) a value in the repository's own config. Native git writes it
   * where installed: it takes `config.lock` as every git does, and writes the file as git reads
   * it. isomorphic-git (without git) leaves the last line unended, so a line appended by hand
   * joins it; the newline is added.
   */
  async setConfig(path: string, value: string | undefined): Promise<void> {
    const file = join(this.gitdir, 'config');
    const args = value === undefined ? ['config', '--file', file, '--unset-all', path] : ['config', '--file', file, '--replace-all', path, value];
    const run = await runGit(args, { cwd: this.gitdir }).catch((err: unknown) => {
      if (err instanceof GitMissingError) return null;
      throw err;
    });
    // exit 5: the key to unset was not there
    if (run && (run.code === 0 || (value === undefined && run.code === 5))) return;
    if (run) throw new RepoError(`could not set ${path} in ${file}: ${run.stderr.trim().split('\n')[0]}`);
    await iso().setConfig({ fs: this.fs as never, gitdir: this.gitdir, path, value });
    const text = readFileSync(file, 'utf8');
    if (text !== '' && !text.endsWith('\n')) appendFileSync(file, '\n');
  }

  async listRemotes(): Promise<Array<{ remote: string; url: string }>> {
    return iso().listRemotes({ fs: this.fs as never, gitdir: this.gitdir });
  }

  async addRemote(remote: string, url: string): Promise<void> {
    await iso().addRemote({ fs: this.fs as never, gitdir: this.gitdir, remote, url });
  }

  async deleteRemote(remote: string): Promise<void> {
    await iso().deleteRemote({ fs: this.fs as never, gitdir: this.gitdir, remote });
  }

  /**
   * The status matrix of the whole work tree. isomorphic-git's writes refreshed
   * stat data back to the index; where that cannot be written (a read-only
   * mount), or with `readOnly`, contents are compared instead.
   */
  async statusMatrix(options: { readOnly?: boolean } = {}): Promise<StatusRow[]> {
    // an index isomorphic-git cannot read (version 4, split) is said as such, with the way out
    const refused = indexRefusalAt(this.dir, this.gitdir, []);
    if (refused && refused.kind !== 'sparse') throw new RepoError(`${refused.problem}. ${refused.fix}`);
    if (!options.readOnly) {
      try {
        return (await iso().statusMatrix(this.args)) as StatusRow[];
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw err;
      }
    }
    return this.readOnlyStatusMatrix();
  }

  /**
   * Paths whose bytes on disk differ from HEAD, ignored files left out. Native
   * git answers in two short processes where isomorphic-git's statusMatrix
   * first loads isomorphic-git and walks every file (~50 ms before a sync); it
   * is the answer without git.
   */
  async diskChanges(): Promise<DiskChange[]> {
    const native = await nativeDiskChanges(this.dir, this.gitdir);
    if (native) {
      const head = await this.headOid();
      const out: DiskChange[] = [];
      for (const { both, ...change } of native) {
        // out of the index but on disk: a change only if its bytes differ from HEAD's
        if (!both || (await this.blobOidAt(head, change.path)) !== this.hashBlob(readFileSync(join(this.dir, change.path)))) out.push(change);
      }
      return out;
    }
    return (await this.statusMatrix())
      .filter(([, head, workdir]) => workdir !== 1 && !(head === 0 && workdir === 0))
      .map(([path, head, workdir]) => ({ path, atHead: head === 1, onDisk: workdir !== 0 }));
  }

  /**
   * Status rows without writing anything: each file at HEAD against the bytes on
   * disk, and files on disk that HEAD lacks (ignored ones left out). The index
   * is taken to match HEAD.
   */
  private async readOnlyStatusMatrix(): Promise<StatusRow[]> {
    const head = await this.headOid();
    const rows: StatusRow[] = [];
    const tracked = new Set<string>();
    const walkTree = async (tree: string, prefix: string): Promise<void> => {
      for (const entry of await this.readTree(tree)) {
        const path = `${prefix}${entry.path}`;
        if (entry.type === 'tree') await walkTree(entry.oid, `${path}/`);
        else if (entry.type === 'blob') {
          tracked.add(path);
          let bytes: Buffer | null = null;
          try {
            bytes = readFileSync(join(this.dir, path));
          } catch {
            // removed
          }
          rows.push([path, 1, bytes === null ? 0 : this.hashBlob(bytes) === entry.oid ? 1 : 2, 1]);
        }
      }
    };
    if (head) await walkTree(await this.treeOf(head), '');
    const walkDisk = async (rel: string): Promise<void> => {
      for (const entry of readdirSync(join(this.dir, rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (path === '.git' || tracked.has(path)) continue;
        if (entry.isDirectory()) {
          if (!(await this.isIgnored(`${path}/`))) await walkDisk(path);
        } else if (!(await this.isIgnored(path))) rows.push([path, 0, 2, 0]);
      }
    };
    await walkDisk('');
    return rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  async isIgnored(path: string): Promise<boolean> {
    return iso().isIgnored({ fs: this.fs as never, dir: this.dir, gitdir: this.gitdir, filepath: path });
  }

  /** Pack the given loose objects into one pack with its index (gc where native git is missing). */
  async packObjects(oids: string[]): Promise<void> {
    const { filename } = await iso().packObjects({ ...this.args, oids, write: true });
    await iso().indexPack({ ...this.args, filepath: `.git/objects/pack/${filename}` });
  }

  /** For the http transport (git/http.ts): the same fs and cache as every other call. */
  transportArgs(): { fs: never; gitdir: string; cache: object } {
    return { fs: this.fs as never, gitdir: this.gitdir, cache: this.cache };
  }

  // ---- writing -------------------------------------------------------------

  /**
   * A stage for commits on `base` (HEAD as it is now when omitted). `packed`:
   * its objects go into one pack (several commits published together), else
   * each is a loose object.
   */
  async begin(options: { base?: string | null; packed?: boolean } = {}): Promise<Stage> {
    this.packs.refresh(); // a fetch or gc since the last commit may have added packs
    return new Stage(this, options.base === undefined ? await this.headOid() : options.base, { packed: options.packed });
  }

  /**
   * The index with `updates` applied (oid null: the entry removed), stat data
   * taken from the work tree as it is now. Read and built while the caller
   * holds `index.lock`; the bytes are for that lock file.
   */
  async indexWith(updates: ReadonlyArray<{ path: string; oid: string | null; trustDisk?: boolean }>, read?: Buffer | null): Promise<Buffer> {
    const path = join(this.gitdir, 'index');
    // `read`: the index as the caller read it under index.lock (it cannot have changed since)
    const current = read !== undefined ? read : readIndexFile(this.gitdir);
    // trustDisk false: the file is not that blob; stat data of zero makes git look at it again
    const untrusted = new Set(updates.filter((u) => u.trustDisk === false).map((u) => u.path));
    const stats = (p: string) => {
      try {
        return untrusted.has(p) ? UNKNOWN_STATS : lstatSync(join(this.dir, p), { bigint: true });
      } catch {
        return null;
      }
    };
    // a file gone from the disk since it was staged leaves the index, as in isomorphic-git's rebuild below
    const entries = updates.map((u) => {
      const s = u.oid ? stats(u.path) : null;
      return s ? { path: u.path, oid: u.oid, stats: s } : { path: u.path, oid: null };
    });
    const updated = updateIndex(current, entries);
    if (updated) return updated;
    // An index this module does not handle (extensions, a merge in progress): isomorphic-git rebuilds it; its write is captured for the lock file.
    let written: Buffer | null = null;
    const nodeFs = wholeFs();
    const capture = {
      ...nodeFs,
      promises: {
        ...nodeFs.promises,
        readFile: (async (p: string, options?: unknown) => {
          if (p === path && current === null) throw Object.assign(new Error('no index'), { code: 'ENOENT' });
          return nodeFs.promises.readFile(p, options as never);
        }) as typeof NodeFs.promises.readFile,
        writeFile: (async (p: string, data: Uint8Array, options?: unknown) => {
          if (p === path) written = Buffer.from(data);
          else await nodeFs.promises.writeFile(p, data, options as never);
        }) as typeof NodeFs.promises.writeFile,
      },
    };
    await indexManager().acquire({ fs: new (isoModels().FileSystem)(capture as never), gitdir: this.gitdir, cache: {} }, async (index) => {
      for (const e of entries) {
        if (e.stats) index.insert({ filepath: e.path, oid: e.oid!, stats: indexStats(e.stats) });
        else if (index.has({ filepath: e.path })) index.delete({ filepath: e.path });
      }
    });
    if (written) return written;
    if (current) return current;
    throw new RepoError(`could not build the index of ${this.dir}`);
  }

  /**
   * Write the journal of a publication and make it durable; resolves once it is.
   * It is gitstate's own file, read only by the next writer: its first line is
   * the journal, written over the start of the file, which never shrinks (a
   * write frees no block and makes no inode).
   */
  writeJournal(journal: Journal): Promise<void> {
    const fd = this.disk.openSync(join(this.gitdir, JOURNAL), constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      writeAll(this.disk, fd, Buffer.from(`${JSON.stringify(journal)}\n`), 0);
    } catch (err) {
      this.disk.closeSync(fd);
      throw err;
    }
    return this.disk.fsync(fd).finally(() => this.disk.closeSync(fd));
  }

  /** The journal an interrupted publication left, or null. A torn one still says a write was interrupted. */
  readJournal(): Journal | null {
    let text: string;
    try {
      text = readFileSync(join(this.gitdir, JOURNAL), 'utf8');
    } catch {
      return null;
    }
    const line = text.slice(0, text.indexOf('\n') >>> 0);
    if (line === '' || line === 'null') return null;
    try {
      const journal = JSON.parse(line) as Journal;
      return { ...journal, target: journal.target ?? null, files: journal.files.map((f) => ({ ...f, before: f.before ?? null })) };
    } catch {
      return { pid: 0, parent: null, target: null, files: [] };
    }
  }

  /** Mark the journal empty: no publication is in flight. No fsync: a stale journal only makes the next writer look. */
  clearJournal(): void {
    let fd: number;
    try {
      fd = this.disk.openSync(join(this.gitdir, JOURNAL), constants.O_WRONLY);
    } catch {
      return; // never written
    }
    try {
      writeAll(this.disk, fd, Buffer.from('null\n'), 0);
    } finally {
      this.disk.closeSync(fd);
    }
  }

  /**
   * Merge gitstate's small packs (whole objects only, see pack-write.ts) into
   * one once COMPACT_AT of them pile up, so that group commits leave a few
   * packs, not one per group. The merged pack is in place and durable before
   * any pack it replaces is removed: every object stays readable throughout.
   * Packs git made (a fetch's, a gc's, any with a .keep or another companion
   * file) are left to git. Only while holding the repository lock.
   */
  async compactPacks(): Promise<void> {
    const folder = join(this.gitdir, 'objects', 'pack');
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return;
    }
    const bases = names.filter((n) => n.startsWith('pack-') && n.endsWith('.idx')).map((n) => n.slice(0, -'.idx'.length));
    // a multi-pack index (git maintenance) names its packs: removing one would break it
    if (bases.length < COMPACT_AT || names.some((n) => n.startsWith('multi-pack-index'))) return;
    const small: Array<{ base: string; entries: PackEntry[] }> = [];
    for (const base of bases) {
      // a .keep, .promisor, .mtimes, .rev or .bitmap beside it: git has plans for this pack
      if (names.some((n) => n.startsWith(`${base}.`) && !n.endsWith('.idx') && !n.endsWith('.pack'))) continue;
      try {
        if (lstatSync(join(folder, `${base}.pack`)).size > COMPACT_SIZE) continue;
        const entries = wholeEntries(readFileSync(join(folder, `${base}.pack`)), readFileSync(join(folder, `${base}.idx`)));
        if (entries) small.push({ base, entries });
      } catch {
        // removed meanwhile, or unreadable: not ours to merge
      }
    }
    if (small.length < COMPACT_AT) return;
    const merged = mergePacks(small.map((p) => p.entries));
    const target = packBase(this.gitdir, merged.name);
    if (!existsSync(`${target}.idx`)) {
      const [pack, idx] = [newTempPath(this, this.disk), newTempPath(this, this.disk)];
      try {
        await settleAll([this.disk.writeNew(pack, merged.pack), this.disk.writeNew(idx, merged.idx)]);
        this.disk.renameSync(pack, `${target}.pack`);
        this.disk.renameSync(idx, `${target}.idx`);
      } finally {
        for (const temp of [pack, idx]) this.disk.removeSync(temp);
      }
      await this.disk.syncDir(folder);
    }
    // each index before its pack: a reader never finds an index whose pack is gone
    for (const { base } of small) {
      if (join(folder, base) === target) continue;
      this.disk.unlinkSync(join(folder, `${base}.idx`));
      this.disk.unlinkSync(join(folder, `${base}.pack`));
    }
    await this.disk.syncDir(folder);
    this.packs.refresh();
  }

  /** Remove what stages of a process that died left in the temp folder (only while holding the repository lock). */
  sweepTemps(): void {
    this.disk.removeSync(join(this.gitdir, TMP_DIR));
    this.tempFolderMade = false;
  }
}

/** The blob id of `path` under `tree`, read through `readTree`; null when the path is not a file there. */
export async function blobInTree(tree: string, path: string, readTree: (oid: string) => Promise<TreeEntry[]>): Promise<string | null> {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const entry = (await readTree(tree)).find((e) => e.path === parts[i]);
    if (!entry) return null;
    if (i === parts.length - 1) return entry.type === 'blob' ? entry.oid : null;
    if (entry.type !== 'tree') return null;
    tree = entry.oid;
  }
  return null;
}

/** Stat data no file has: git then compares the file's content instead of trusting its entry. */
const UNKNOWN_STATS = { ctimeNs: 0n, mtimeNs: 0n, dev: 0n, ino: 0n, mode: 0o100644n, uid: 0n, gid: 0n, size: 0n } as NodeFs.BigIntStats;

/** isomorphic-git's index takes Stats-shaped numbers: seconds and nanoseconds from the exact bigint times. */
function indexStats(s: NodeFs.BigIntStats) {
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
