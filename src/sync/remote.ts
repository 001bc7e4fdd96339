/**
 * Remotes (kept in .git/config, URLs only — never credentials) and clone.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError, UsageError } from '../errors.js';
import { StateRepo, type RepoOptions } from '../core/repo.js';
// the process helpers alone: the lock module loads proper-lockfile, whose exit handler state.json's
// exit flush must see being installed (state/exit-flush.ts)
import { isGone, processHere, type Waiter } from '../core/lock-queue.js';
import { crashPoint } from '../git/crash-points.js';
import { checkRemoteUrl, redact, urlKind, type TransferOptions } from './transport.js';
import { branchKey, sync, type SyncOptions } from './sync.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface Remote {
  name: string;
  url: string;
}

export async function listRemotes(repo: StateRepo): Promise<Remote[]> {
  const store = await repo.store();
  return (await store.listRemotes()).map(({ remote, url }) => ({ name: remote, url: redact(url) }));
}

/** Git's own rules for a branch name, the ones that matter here. */
const BRANCH_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[^\s~^:?*[\\\x00-\x1f\x7f]+(?<!\.lock)(?<![./])$/;

/**
 * Add a remote. `branch` names the remote's branch to track (default main);
 * the local branch is always main.
 */
export async function addRemote(repo: StateRepo, name: string, url: string, options: { branch?: string } = {}): Promise<void> {
  if (!NAME.test(name)) throw new UsageError(`invalid remote name "${name}"`);
  checkRemoteUrl(url);
  const branch = options.branch;
  if (branch !== undefined && !BRANCH_NAME.test(branch)) throw new UsageError(`invalid branch name "${branch}"`);
  const store = await repo.store();
  try {
    await store.addRemote(name, url);
  } catch (err) {
    if ((err as { code?: string }).code === 'AlreadyExistsError') throw new UsageError(`a remote named "${name}" exists already`);
    throw err;
  }
  if (branch && branch !== 'main') {
    await store.setConfig(`remote.${name}.fetch`, `+refs/heads/${branch}:refs/remotes/${name}/${branch}`);
    await store.setConfig(branchKey(name), branch);
  }
}

export async function removeRemote(repo: StateRepo, name: string): Promise<void> {
  const store = await repo.store();
  if (!(await listRemotes(repo)).some((r) => r.name === name)) throw new UsageError(`no remote named "${name}"`);
  await store.deleteRemote(name);
  await store.setConfig(branchKey(name), undefined).catch(() => undefined);
}

/**
 * Clone a remote state repo into `dir` (which must be empty or absent): a new
 * state repository whose `origin` is the remote, then a pull. Works when the
 * remote is empty or its HEAD is unset or dangling: the local branch is always
 * main, tracking the remote's `branch` (default main). A clone that fails
 * removes what it made, so it can simply be tried again.
 */
export interface CloneOptions extends RepoOptions, TransferOptions, Pick<SyncOptions, 'strategy'> {
  /** The remote branch to track (default main). */
  branch?: string;
  /** Told what the clone left out and why (a git identity value a write would refuse). */
  onWarning?: (message: string) => void;
}

export async function cloneRepo(url: string, dir: string, options: CloneOptions = {}): Promise<StateRepo> {
  checkRemoteUrl(url);
  let existed = await readdir(dir).catch(() => null);
  if (existed?.includes('.git') && (await killedClone(dir))) existed = await startOver(dir);
  // The embedded default ./state holds only its README: cloning there is fine (the README stays local).
  if (existed?.some((name) => name !== 'README.md')) throw new RepoError(`cannot clone into ${dir}: it is not empty`);
  if (urlKind(url) !== 'http') await requireGit();
  await mkdir(dir, { recursive: true });
  // the mark first, so a clone killed at any later point is known for its own; a second clone
  // into the same folder stops here, before it could clean up what the first one is making
  await mkdir(join(dir, '.git')).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EEXIST' ? new RepoError(`cannot clone into ${dir}: another clone is making it`) : err;
  });
  try {
    await writeFile(join(dir, '.git', UNFINISHED_CLONE), `${JSON.stringify(processHere())}\n`);
    crashPoint('clone-marked');
    for (const why of await gitInitOnly(dir)) options.onWarning?.(why);
    if (existed?.includes('README.md')) {
      await mkdir(join(dir, '.git/info'), { recursive: true });
      await appendFile(join(dir, '.git/info/exclude'), '/README.md\n');
    }
    const repo = await StateRepo.open(dir, options);
    const { installHooks } = await import('../hooks/install.js');
    await installHooks(repo.gitdir);
    await addRemote(repo, 'origin', url, { branch: options.branch });
    // a branch named with --branch that the remote lacks is an error here (nothing to clone), not a branch to start
    const pulled = await sync(repo, { ...options, remote: 'origin', strategy: 'theirs', startBranch: false });
    if (pulled.head === null) {
      // An empty remote: start it with the seed layout.
      const { initRepository } = await import('../core/init.js');
      await initRepository(repo.dir, options);
      await sync(repo, { ...options, remote: 'origin' });
    }
    await rm(join(dir, '.git', UNFINISHED_CLONE), { force: true });
    return repo;
  } catch (err) {
    // Leave the directory as it was found: gone if we made it, else only what was there.
    if (existed === null) await rm(dir, { recursive: true, force: true });
    else for (const name of await readdir(dir)) if (!existed.includes(name)) await rm(join(dir, name), { recursive: true, force: true });
    throw err;
  }
}

/** In .git while a clone runs (naming its process): a retry knows what a killed clone left (only .git, and this) as its own. */
const UNFINISHED_CLONE = 'gitstate-clone-unfinished';

/**
 * What a killed clone left, put back: the files its pull had written when it was stopped (the
 * interrupted write's journal, as the next write would), then its .git when nothing else is left.
 * Returns what the folder holds after.
 */
async function startOver(dir: string): Promise<string[]> {
  await StateRepo.open(dir)
    .then((repo) => repo.recover())
    .catch(() => undefined); // a .git killed before it was whole has nothing to put back
  const left = await readdir(dir);
  if (!left.every((name) => name === '.git' || name === 'README.md')) {
    // it had pulled, and the branch points at what it pulled: a repository now, unfinished or not
    await rm(join(dir, '.git', UNFINISHED_CLONE), { force: true });
    return left;
  }
  await rm(join(dir, '.git'), { recursive: true, force: true });
  return left.filter((name) => name !== '.git');
}

/** Whether `dir/.git` is what a clone left that was killed: its mark names a process that is gone (not a clone still running). */
async function killedClone(dir: string): Promise<boolean> {
  try {
    return isGone(JSON.parse(await readFile(join(dir, '.git', UNFINISHED_CLONE), 'utf8')) as Waiter);
  } catch {
    return false; // no mark (someone's repository), or one being written
  }
}

/**
 * An empty repository with the pinned config and no commit: the clone's first pull fast-forwards
 * into it. Returns why values of git's identity were not copied.
 */
async function gitInitOnly(dir: string): Promise<string[]> {
  const { configureRepository } = await import('../core/init.js');
  const { GitStore } = await import('../git/store.js');
  return (await configureRepository(await GitStore.init(dir))).skipped;
}

function requireGit(): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('git', ['--version'], (err) => (err ? reject(new RepoError('ssh and local remotes need the system git, which is not installed')) : resolve())),
  );
}
