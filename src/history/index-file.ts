/**
 * The history index: for every commit, its parents, time, author, subject,
 * trailers, and the paths it changed (against its first parent) with their new
 * blob ids. `log FILE` then walks commits in memory instead of resolving the
 * path in every tree (isomorphic-git's `log({filepath})`: 3.6 s over 5,000
 * commits).
 *
 * It lives in `.git/gitstate/history.jsonl`: local, derived, never synced,
 * append-only. It is extended lazily — any commit reachable from HEAD that is not
 * in it yet (ours, made by hand with native git, or pulled) is read and diffed
 * against its parent once — so it is correct whoever made the commits. A torn
 * last line (a crash while appending) is ignored and redone.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeChangedPaths, rawChanges, runGit } from '../git/native.js';
import type { GitStore, TreeEntry } from '../git/store.js';

export interface CommitRecord {
  /** Commit id. */
  c: string;
  /** Parent ids. */
  p: string[];
  /** Committer time, seconds since the epoch. */
  t: number;
  /** Author, "Name <email>". */
  a: string;
  /** Subject line. */
  s: string;
  /** Gitstate-Op / Gitstate-Host trailers, when present. */
  op?: string;
  host?: string;
  /** Changed paths against the first parent: path -> new blob id (null: removed). */
  f: Record<string, string | null>;
}

/**
 * Past this many commits to index, native git (when installed) reads them in
 * one pass: two git processes cost what reading ~15 packed commits through
 * isomorphic-git does (a pull brings its commits in a pack).
 */
function bulkThreshold(): number {
  const fromEnv = Number(process.env.GITSTATE_HISTORY_BULK_MIN);
  return Number.isFinite(fromEnv) && process.env.GITSTATE_HISTORY_BULK_MIN ? fromEnv : 8;
}

export class HistoryIndex {
  /** Commit id -> its record, or the raw JSON line until first needed (parsing 10,000 lines costs more than reading them). */
  private readonly records = new Map<string, CommitRecord | string>();
  private readonly file: string;
  private loadedBytes = 0;

  constructor(private readonly store: GitStore) {
    this.file = join(store.gitdir, 'gitstate', 'history.jsonl');
  }

  get(commit: string): CommitRecord | undefined {
    const entry = this.records.get(commit);
    if (typeof entry !== 'string') return entry;
    try {
      const record = JSON.parse(entry) as CommitRecord;
      this.records.set(commit, record);
      return record;
    } catch {
      this.records.delete(commit); // a torn line: indexed again on the next update
      return undefined;
    }
  }

  /** Bring the index up to `head`: read what other processes appended, then index what is still missing. */
  async update(head: string | null): Promise<void> {
    this.readAppended();
    if (!head) return;
    const missing = await this.missingFrom(head);
    if (missing.length === 0) return;
    const lines: string[] = [];
    // Parents before children, so a torn append never leaves a child without its parent.
    for (const entry of missing.reverse()) {
      const record = typeof entry === 'string' ? await this.indexCommit(entry) : entry;
      this.records.set(record.c, record);
      lines.push(JSON.stringify(record));
    }
    try {
      mkdirSync(join(this.store.gitdir, 'gitstate'), { recursive: true });
      appendFileSync(this.file, `${lines.join('\n')}\n`);
      this.loadedBytes += Buffer.byteLength(`${lines.join('\n')}\n`);
    } catch {
      // the index is a cache: when it cannot be written (a read-only repository), the records serve this process from memory
    }
  }

  /**
   * The commits reachable from `head` that are not indexed yet, children before
   * parents: their ids, read in-process, or past the bulk threshold or at the
   * first commit only isomorphic-git could read (a big fetched pack: reading each
   * through it costs ~1 ms, and loading it ~40 ms) their records from one
   * native `git log`. The walk stops at indexed commits, as everything
   * before one is indexed too; so does the log, at those the walk met and at
   * the branch's tip.
   */
  private async missingFrom(head: string): Promise<Array<string | CommitRecord>> {
    const found: string[] = [];
    const stops = new Set<string>();
    const seen = new Set<string>();
    const stack = [head];
    let askedGit = false;
    while (stack.length > 0) {
      const oid = stack.pop()!;
      if (seen.has(oid)) continue;
      seen.add(oid);
      if (this.get(oid)) {
        stops.add(oid);
        continue;
      }
      // a commit read only through isomorphic-git is in a big fetched pack: a clone or pull, which brings many at once
      const parents = this.store.storedCommit(oid)?.parents ?? null;
      if (!askedGit && (found.length === bulkThreshold() || parents === null)) {
        askedGit = true;
        const tip = await this.store.headOid();
        if (tip && this.get(tip)) stops.add(tip);
        const records = await nativeLog(this.store.dir, head, [...stops]);
        if (records) return records.filter((r) => !this.get(r.c));
      }
      found.push(oid);
      stack.push(...(parents ?? (await this.store.readCommit(oid)).parents));
    }
    return found;
  }

  /** Commits reachable from `head`, newest first (by committer time, as `git log` orders them). */
  *walk(head: string | null): Generator<CommitRecord> {
    if (!head) return;
    const queue: CommitRecord[] = [];
    const seen = new Set<string>();
    const push = (oid: string) => {
      if (seen.has(oid)) return;
      seen.add(oid);
      const record = this.get(oid);
      if (!record) return;
      // Insert keeping the queue sorted by time, newest last (popped first).
      let i = queue.length;
      while (i > 0 && queue[i - 1]!.t > record.t) i--;
      queue.splice(i, 0, record);
    };
    push(head);
    while (queue.length > 0) {
      const record = queue.pop()!;
      yield record;
      for (const parent of record.p) push(parent);
    }
  }

  private readAppended(): void {
    let text: string;
    try {
      const bytes = readFileSync(this.file);
      if (bytes.length === this.loadedBytes) return;
      text = bytes.subarray(this.loadedBytes).toString('utf8');
      this.loadedBytes = bytes.length;
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      // Lines start {"c":"<40-hex id>": keep the raw line, parse it when used.
      if (line.startsWith('{"c":"') && line.endsWith('}')) this.records.set(line.slice(6, 46), line);
    }
  }

  private async indexCommit(oid: string): Promise<CommitRecord> {
    const commit = await this.store.readCommit(oid);
    const parentTree = commit.parents[0] ? await this.store.treeOf(commit.parents[0]) : null;
    const f: Record<string, string | null> = {};
    await this.diffTrees(parentTree, commit.tree, '', f);
    const trailers = parseTrailers(commit.message);
    const record: CommitRecord = {
      c: oid,
      p: commit.parents,
      t: commit.committer.timestamp,
      a: `${commit.author.name} <${commit.author.email}>`,
      s: commit.message.split('\n')[0] ?? '',
      f,
    };
    if (trailers.op) record.op = trailers.op;
    if (trailers.host) record.host = trailers.host;
    return record;
  }

  /**
   * Paths whose blob differs between two commits: path -> blob id in `b` (null:
   * not in `b`). Diffed here when every tree on the way is read without
   * isomorphic-git (loose, or in a pack up to 2 MiB: a pull's, deltas and all),
   * which spares a git process; else native git's diff-tree where installed;
   * else the tree diff below through isomorphic-git.
   */
  async changedBetween(a: string | null, b: string): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    const [ta, tb] = [a ? this.store.storedTreeOf(a) : null, this.store.storedTreeOf(b)];
    if ((a === null || ta !== null) && tb !== null && this.diffStored(ta, tb, '', out)) return out;
    return (await nativeChangedPaths(this.store.gitdir, a, b)) ?? this.changedPaths(a ? await this.store.treeOf(a) : null, await this.store.treeOf(b));
  }

  /** Paths whose blob differs between two trees: path -> blob id in `b` (null: not in `b`). */
  async changedPaths(a: string | null, b: string | null): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    await this.diffTrees(a, b, '', out);
    return out;
  }

  /** Paths whose blob differs between two trees, descending only into subtrees that changed. */
  private async diffTrees(a: string | null, b: string | null, prefix: string, out: Record<string, string | null>): Promise<void> {
    if (a === b) return;
    const level = diffLevel(a ? await this.store.readTree(a) : [], b ? await this.store.readTree(b) : [], prefix, out);
    for (const [l, r, path] of level) await this.diffTrees(l, r, path, out);
  }

  /** `diffTrees` over trees read here only; false as soon as one is not (the caller diffs another way). */
  private diffStored(a: string | null, b: string | null, prefix: string, out: Record<string, string | null>): boolean {
    if (a === b) return true;
    const [left, right] = [a ? this.store.storedTree(a) : [], b ? this.store.storedTree(b) : []];
    if (!left || !right) return false;
    return diffLevel(left, right, prefix, out).every(([l, r, path]) => this.diffStored(l, r, path, out));
  }
}

/** One level of a tree diff: changed blobs go into `out`; returns the subtree pairs to descend into. */
function diffLevel(a: readonly TreeEntry[], b: readonly TreeEntry[], prefix: string, out: Record<string, string | null>): Array<[string | null, string | null, string]> {
  const left = new Map(a.map((e) => [e.path, e]));
  const right = new Map(b.map((e) => [e.path, e]));
  const below: Array<[string | null, string | null, string]> = [];
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const l = left.get(name);
    const r = right.get(name);
    // a mode changed alone counts, as git diff-tree reports it
    if (l?.oid === r?.oid && l?.type === r?.type && l?.mode === r?.mode) continue;
    const path = `${prefix}${name}`;
    const lTree = l?.type === 'tree' ? l.oid : null;
    const rTree = r?.type === 'tree' ? r.oid : null;
    if (lTree || rTree) below.push([lTree, rTree, `${path}/`]);
    if (r?.type === 'blob') out[path] = r.oid;
    else if (l?.type === 'blob') out[path] = null;
  }
  return below;
}

/**
 * Records of the commits reachable from `head` and not from `stops`, children
 * before parents (`git log --topo-order --raw`), in one process instead of
 * reading every commit and tree in-process (10,000 commits: ~11 s -> well
 * under a second). Null when git is not installed or cannot answer.
 */
async function nativeLog(dir: string, head: string, stops: string[]): Promise<CommitRecord[] | null> {
  const format = ['%H', '%P', '%ct', '%an <%ae>', '%s', '%(trailers:key=Gitstate-Op,valueonly,separator=%x20)', '%(trailers:key=Gitstate-Host,valueonly,separator=%x20)'].join('%x1f');
  const args = ['log', '--topo-order', '--diff-merges=first-parent', '--raw', '--no-abbrev', '--no-renames', '-z', `--format=%x1e${format}`, '--stdin'];
  // the revisions on stdin: a long list of stops would not fit a command line
  const run = await runGit(args, { cwd: dir, input: [head, ...stops.map((oid) => `^${oid}`)].join('\n') + '\n' }).catch(() => null);
  if (!run || run.code !== 0) return null;
  const records: CommitRecord[] = [];
  for (const chunk of run.stdout.split('\x1e')) {
    if (!chunk) continue;
    const [rawHeader = '', raw = ''] = splitOnce(chunk, '\n');
    const header = rawHeader.replace(/\0$/, '');
    const [c = '', p = '', t = '0', a = '', subject = '', op = '', host = ''] = header.split('\x1f');
    const record: CommitRecord = { c, p: p ? p.split(' ') : [], t: Number(t), a, s: subject, f: rawChanges(raw) };
    if (op.trim()) record.op = op.trim();
    if (host.trim()) record.host = host.trim();
    records.push(record);
  }
  return records;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

/** Gitstate trailers of a commit message (the last paragraph). */
export function parseTrailers(message: string): { op?: string; host?: string; files: string[]; keys: string[] } {
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1]! : '';
  const out: { op?: string; host?: string; files: string[]; keys: string[] } = { files: [], keys: [] };
  for (const line of last.split('\n')) {
    const m = /^Gitstate-(Op|Host|File|Key):\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Op') out.op = m[2];
    else if (m[1] === 'Host') out.host = m[2];
    else if (m[1] === 'File') out.files.push(m[2]!);
    else out.keys.push(m[2]!);
  }
  return out;
}
