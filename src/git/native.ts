/**
 * The system git, for the transfers it does best: negotiation, pack building
 * and pack indexing (fetch and push over ssh, local paths, and http(s) when it
 * is installed). Its whole output is kept: the exit status, stdout (push
 * --porcelain's per-ref lines) and stderr, from which `gitMessage` takes the
 * lines that say what went wrong.
 */
import { execFile, spawn } from 'node:child_process';

/** git's id of the empty tree. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed because it said nothing for `idleTimeoutMs`. */
  timedOut: boolean;
}

export interface GitProgress {
  phase: string;
  loaded: number;
  total?: number;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Kill git when it has been silent (no output at all) this long. */
  idleTimeoutMs?: number;
  input?: string;
  /** git's progress lines (`--progress`), parsed. */
  onProgress?: (event: GitProgress) => void;
}

export class GitMissingError extends Error {
  constructor() {
    super('the system git is not installed');
  }
}

/** Run git; resolves with its outcome whatever the exit status (GitMissingError when git is not installed). */
export function runGit(args: string[], options: RunOptions): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    // Its own process group: a deadline kills git and its helpers (git-remote-http, ssh) together.
    const child = spawn('git', args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const alive = () => {
      if (!options.idleTimeoutMs) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, options.idleTimeoutMs);
    };
    alive();
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      alive();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      alive();
      if (!options.onProgress) return;
      const lines = (partial + chunk.toString('utf8')).split(/[\r\n]/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseProgress(line);
        if (event) options.onProgress(event);
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new GitMissingError() : e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined); // git may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** `Receiving objects:  45% (450/1000)` (also behind `remote: `) as an event. */
export function parseProgress(line: string): GitProgress | null {
  const m = /^(?:remote: )?([A-Z][A-Za-z ]+):\s+(?:\d+% \()?(\d+)(?:\/(\d+))?/.exec(line.trim());
  if (!m) return null;
  return { phase: m[1]!, loaded: Number(m[2]), ...(m[3] ? { total: Number(m[3]) } : {}) };
}

/** Lines git and ssh print that say nothing about what went wrong. */
const NOISE = [
  /^hint:/,
  /^To /,
  /^From /,
  /^Done$/,
  /^Please make sure you have the correct access rights$/,
  /^and the repository exists\.$/,
  /^error: failed to push some refs to /,
  /^(?:remote: )?(?:Enumerating|Counting|Compressing|Writing|Receiving|Resolving|Total|Unpacking) /,
  /^(?:remote: )?Delta compression using up to \d+ threads/,
  /^remote:\s*$/,
];

/**
 * What went wrong, from git's stderr: the meaningful lines in order (ssh's own
 * complaint, `remote:` lines with the server's text, `fatal:`/`error:`),
 * hints, progress and boilerplate dropped; at most `max` lines, joined.
 */
export function gitMessage(stderr: string, max = 6): string {
  const lines: string[] = [];
  for (const raw of stderr.split(/\r?\n|\r/)) {
    const line = raw.trim();
    if (!line || NOISE.some((p) => p.test(line))) continue;
    if (parseProgress(line) && !/^(?:fatal|error|warning):/.test(line)) continue;
    if (!lines.includes(line)) lines.push(line);
  }
  return lines.slice(0, max).join('; ');
}

/** One config value as git sees it from `cwd` (repository, global and system files, environment), or null. */
export async function gitConfig(cwd: string, key: string, urlMatch?: string): Promise<string | null> {
  const args = urlMatch ? ['config', '--get-urlmatch', key, urlMatch] : ['config', '--get', key];
  const run = await runGit(args, { cwd }).catch(() => null);
  return run && run.code === 0 ? run.stdout.trim() || null : null;
}

/** A path whose bytes on disk differ from HEAD: whether HEAD has it, and whether the disk does. */
export interface DiskChange {
  path: string;
  atHead: boolean;
  onDisk: boolean;
}

/**
 * The work tree against HEAD, from native git: `git diff HEAD` (tracked paths)
 * and `git ls-files --others` (new ones; ignored files left out), run side by
 * side. The repository is named explicitly and the index is the repository's
 * own, whatever a calling hook set. Null when git is not installed or cannot
 * answer (no HEAD yet). A path git lists as deleted and also as untracked (taken
 * out of the index by hand) is on disk: `both` marks it for a content check.
 */
export async function nativeDiskChanges(dir: string, gitdir: string): Promise<Array<DiskChange & { both?: boolean }> | null> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_DIR: gitdir, GIT_WORK_TREE: dir };
  delete env.GIT_INDEX_FILE;
  const options = { cwd: dir, env };
  const [diff, others] = await Promise.all([
    runGit(['diff', 'HEAD', '--no-renames', '--no-ext-diff', '--name-status', '-z'], options).catch(() => null),
    runGit(['ls-files', '--others', '--exclude-standard', '-z'], options).catch(() => null),
  ]);
  if (!diff || !others || diff.code !== 0 || others.code !== 0) return null;
  const changes = new Map<string, DiskChange & { both?: boolean }>();
  const fields = diff.stdout.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i]!;
    const path = fields[i + 1]!;
    // A: in the index, not at HEAD; D: at HEAD, not on disk; M, T, U: changed
    changes.set(path, { path, atHead: status !== 'A', onDisk: status !== 'D' });
  }
  for (const path of others.stdout.split('\0')) {
    if (!path) continue;
    const known = changes.get(path);
    if (known) changes.set(path, { path, atHead: known.atHead, onDisk: true, both: true });
    else changes.set(path, { path, atHead: false, onDisk: true });
  }
  return [...changes.values()];
}

/**
 * The files that differ between two commits (or trees), path -> blob id in `b`
 * (null: not in `b`), from `git diff-tree -r`: for trees gitstate does not read
 * itself (in a pack over 2 MiB, a clone's), which isomorphic-git would read one
 * object at a time. Null when git is not installed or cannot answer.
 */
export async function nativeChangedPaths(gitdir: string, a: string | null, b: string): Promise<Record<string, string | null> | null> {
  const run = await runGit([`--git-dir=${gitdir}`, 'diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', a ?? EMPTY_TREE, b], { cwd: gitdir }).catch(() => null);
  if (!run || run.code !== 0) return null;
  return rawChanges(run.stdout);
}

/**
 * `--raw -z` output (`git diff-tree`, `git log --raw`) as path -> blob id in the
 * newer tree (null: no blob there: removed, or a submodule now). Entries end at
 * the first field that is not one (what follows a commit's entries in a log).
 */
export function rawChanges(text: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const fields = text.replace(/^\n+/, '').split('\0');
  // ":<old mode> <new mode> <old id> <new id> <status>\0<path>\0"
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]!.trim();
    if (!meta.startsWith(':')) break;
    const [oldMode = '', newMode = '', , newId = ''] = meta.slice(1).split(' ');
    const path = fields[i + 1]!;
    const wasBlob = oldMode !== '000000' && oldMode !== '160000';
    if (newMode === '000000' || newMode === '160000') {
      if (wasBlob) out[path] = null;
    } else out[path] = newId;
  }
  return out;
}

/**
 * Blobs by id, read by one `git cat-file --batch`: for blobs gitstate does not
 * read itself (in a pack over 2 MiB), which isomorphic-git reads at ~1 ms each.
 * Null when git is not installed or cannot answer; ids git does not have are
 * left out.
 */
export function nativeBlobs(gitdir: string, oids: string[]): Promise<Map<string, Buffer> | null> {
  return new Promise((resolve) => {
    const child = execFile('git', [`--git-dir=${gitdir}`, 'cat-file', '--batch'], { encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout) => {
      if (err) return resolve(null);
      const blobs = new Map<string, Buffer>();
      let at = 0;
      // per id: "<id> <type> <size>\n<content>\n", or "<id> missing\n"
      while (at < stdout.length) {
        const eol = stdout.indexOf(10, at);
        if (eol < 0) break;
        const [oid = '', type = '', size = ''] = stdout.toString('latin1', at, eol).split(' ');
        at = eol + 1;
        if (type === 'missing' || size === '') continue;
        const end = at + Number(size);
        if (type === 'blob') blobs.set(oid, stdout.subarray(at, end));
        at = end + 1;
      }
      resolve(blobs);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(`${oids.join('\n')}\n`);
  });
}
