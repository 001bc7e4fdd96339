/**
 * Test helpers: temp state repositories, the real CLI as a child process, and
 * native git to check what gitstate wrote.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { StateRepo } from '../../src/core/repo.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The built CLI (npm test builds first). */
export const CLI = join(ROOT, 'dist/cli/main.js');

const made: string[] = [];

export async function tempDir(prefix = 'gitstate-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function cleanupTempDirs(): Promise<void> {
  template = undefined;
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A state repo made by its own `StateRepo.init` (for tests of init itself, or of the files init wrote). */
export async function initRepo(): Promise<StateRepo> {
  return StateRepo.init(join(await tempDir(), 'state'));
}

/** One `gitstate init` per test file; each tempRepo is a copy of it (an init costs ~100 ms, a copy ~10). */
let template: Promise<string> | undefined;

/** A fresh, initialized state repo in a temp dir: a copy (cp -a) of a repo `StateRepo.init` made. */
export async function tempRepo(): Promise<StateRepo> {
  template ??= tempDir('gitstate-template-').then(async (dir) => (await StateRepo.init(join(dir, 'state'))).dir);
  const dir = join(await tempDir(), 'state');
  execFileSync('cp', ['-a', await template, dir]);
  return StateRepo.open(dir);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the gitstate CLI as a child process. */
export function cli(args: string[], options: { dir?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...(options.dir ? ['--dir', options.dir] : []), ...args], {
      env: { ...process.env, GITSTATE_DIR: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Run native git in `dir` and return stdout (throws on a non-zero exit). */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function gitAsync(dir: string, ...args: string[]): Promise<RunResult> {
  return new Promise((res) => {
    execFile('git', args, { cwd: dir, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let queued = 0;
/**
 * Make `writes` as one group (published together, one pack): they are queued
 * behind a write already in flight (to notes/queue.yaml), which the writer
 * publishes alone first. Resolves when all have landed.
 */
export async function writeAsGroup(repo: StateRepo, writes: ReadonlyArray<(repo: StateRepo) => Promise<unknown>>): Promise<void> {
  await Promise.all([repo.set('notes/queue', 'n', ++queued), ...writes.map((write) => write(repo))]);
}

/** The checks every write must leave true: a clean `git status` and a strict fsck. */
export function assertRepoHealthy(dir: string): void {
  // fsck first: it checks the index's checksum, and `git status` may rewrite the index
  git(dir, 'fsck', '--strict', '--no-progress');
  const status = git(dir, 'status', '--porcelain');
  if (status !== '') throw new Error(`git status is not clean in ${dir}:\n${status}`);
}

export function commitCount(dir: string): number {
  return Number(git(dir, 'rev-list', '--count', 'HEAD').trim());
}

export function headOid(dir: string): string {
  return git(dir, 'rev-parse', 'HEAD').trim();
}

/** Every entry of the work tree outside .git: folders, symlinks, and each file's bytes (base64). */
export async function workTreeSnapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.name === '.git') continue;
      if (entry.isDirectory()) {
        out.set(relative(dir, path), 'dir');
        await walk(path);
      } else if (entry.isFile()) out.set(relative(dir, path), (await readFile(path)).toString('base64'));
      else out.set(relative(dir, path), 'symlink');
    }
  };
  await walk(dir);
  return out;
}

/**
 * Put process.env back to `saved` in place. Never `process.env = saved`: a plain
 * object there stops Node from noticing a later TZ change, and suites share a worker.
 */
export function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
}
