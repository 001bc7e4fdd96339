/**
 * Remotes (kept in .git/config, URLs only — never credentials) and clone.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError, UsageError } from '../errors.js';
import { StateRepo, type RepoOptions } from '../core/repo.js';
import { checkRemoteUrl, redact, transportOf, type TransferOptions } from './transport.js';
import { sync } from './sync.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface Remote {
  name: string;
  url: string;
}

export async function listRemotes(repo: StateRepo): Promise<Remote[]> {
  const store = await repo.store();
  return (await store.listRemotes()).map(({ remote, url }) => ({ name: remote, url: redact(url) }));
}

export async function addRemote(repo: StateRepo, name: string, url: string): Promise<void> {
  if (!NAME.test(name)) throw new UsageError(`invalid remote name "${name}"`);
  checkRemoteUrl(url);
  const store = await repo.store();
  try {
    await store.addRemote(name, url);
  } catch (err) {
    if ((err as { code?: string }).code === 'AlreadyExistsError') throw new UsageError(`a remote named "${name}" exists already`);
    throw err;
  }
}

export async function removeRemote(repo: StateRepo, name: string): Promise<void> {
  const store = await repo.store();
  if (!(await listRemotes(repo)).some((r) => r.name === name)) throw new UsageError(`no remote named "${name}"`);
  await store.deleteRemote(name);
}

/**
 * Clone a remote state repo into `dir` (which must be empty or absent): a new
 * state repository whose `origin` is the remote, then a pull. Works when the
 * remote is empty or its HEAD is unset or dangling: the branch is always main.
 */
export async function cloneRepo(url: string, dir: string, options: RepoOptions & TransferOptions = {}): Promise<StateRepo> {
  checkRemoteUrl(url);
  await mkdir(dir, { recursive: true });
  // The embedded default ./state holds only its README: cloning there is fine (the README stays local).
  const existing = await readdir(dir);
  if (existing.some((name) => name !== 'README.md')) throw new RepoError(`cannot clone into ${dir}: it is not empty`);
  if (transportOf(url) === 'native') await requireGit();
  await gitInitOnly(dir);
  if (existing.includes('README.md')) {
    await mkdir(join(dir, '.git/info'), { recursive: true });
    await appendFile(join(dir, '.git/info/exclude'), '/README.md\n');
  }
  const repo = await StateRepo.open(dir, options);
  const { installHooks } = await import('../hooks/install.js');
  await installHooks(repo.gitdir);
  await addRemote(repo, 'origin', url);
  const pulled = await sync(repo, { ...options, remote: 'origin', strategy: 'theirs' });
  if (pulled.head === null) {
    // An empty remote: start it with the seed layout.
    const { initRepository } = await import('../core/init.js');
    await initRepository(repo.dir, options);
    await sync(repo, { ...options, remote: 'origin' });
  }
  return repo;
}

/** An empty repository with the pinned config and no commit: the clone's first pull fast-forwards into it. */
async function gitInitOnly(dir: string): Promise<void> {
  const { configureRepository } = await import('../core/init.js');
  const { GitStore } = await import('../git/store.js');
  await configureRepository(await GitStore.init(dir));
}

function requireGit(): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('git', ['--version'], (err) => (err ? reject(new RepoError('ssh and local remotes need the system git, which is not installed')) : resolve())),
  );
}
