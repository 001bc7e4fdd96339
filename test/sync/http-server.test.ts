/**
 * Sync against a real web server: nginx + fcgiwrap running `git http-backend`,
 * over https with a self-signed certificate and HTTP Basic auth, started on a
 * 127.0.0.1 high port by this file. Transport-level behaviour runs on both
 * transports: the system git (the default where it is installed) and
 * isomorphic-git (GITSTATE_HTTP_TRANSPORT=isomorphic, what runs without git).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { pull, push, sync } from '../../src/sync/sync.js';
import { hookCuttingPush, hookMovingMainOnce, hookProtectingMain, removeHooks } from '../helpers/real-servers.mjs';
import { simultaneousSyncs, useHttpServer } from '../helpers/real-servers.js';
import { assertRepoHealthy, cli, git, headOid, tempDir, restoreEnv, tempRepo } from '../helpers/repo.js';
import { itFull, sized } from '../helpers/tier.js';

const USER = 'alice';
const PASSWORD = 'pa55-word-on-the-server';
const server = useHttpServer({ https: true, auth: { username: USER, password: PASSWORD } });
const ROUNDS = sized(1, 5, 'REAL_SERVER_ROUNDS');
/** Machines syncing at one moment: three. */
const MACHINES = 3;

// The machine's environment may point git at another CA bundle; these tests name theirs in http.sslCAInfo.
const savedCa = process.env.GIT_SSL_CAINFO;
let globalConfig = '';
beforeAll(async () => {
  delete process.env.GIT_SSL_CAINFO;
  globalConfig = join(await tempDir(), 'gitconfig');
  // As a user would: the server's certificate trusted in ~/.gitconfig.
  writeFileSync(globalConfig, `[http]\n\tsslCAInfo = ${server().caFile}\n`);
  process.env.GIT_CONFIG_GLOBAL = globalConfig;
  process.env.GITSTATE_TOKEN = PASSWORD;
  process.env.GITSTATE_USERNAME = USER;
});
afterAll(() => {
  if (savedCa !== undefined) process.env.GIT_SSL_CAINFO = savedCa;
  delete process.env.GIT_CONFIG_GLOBAL;
  delete process.env.GITSTATE_TOKEN;
  delete process.env.GITSTATE_USERNAME;
});

const bare = (name: string) => join(server().root, name);

async function firstMachine(name: string): Promise<{ url: string; repo: StateRepo }> {
  const url = server().createRepo(name);
  const repo = await tempRepo();
  await addRemote(repo, 'origin', url);
  await sync(repo);
  return { url, repo };
}

const clone = async (url: string) => cloneRepo(url, join(await tempDir(), 'state'));

describe('https through nginx + git http-backend', () => {
  it('clone of an empty remote seeds it; three machines sync conflicting and non-conflicting edits and converge', async () => {
    const url = server().createRepo('three.git');
    const a = await clone(url);
    expect(git(bare('three.git'), 'rev-parse', 'main').trim()).toBe(headOid(a.dir));
    const [b, c] = [await clone(url), await clone(url)];
    for (let round = 0; round < ROUNDS; round++) {
      await a.set('environments', 'dev.url', `a${round}`);
      await b.set('environments', `qa${round}.url`, 'b');
      await c.set('environments', 'dev.url', `c${round}`);
      await c.append('knowledge', 'facts', `c${round}`);
      for (const repo of [a, b, c]) await sync(repo);
      for (const repo of [a, b]) await sync(repo);
    }
    const trees = [a, b, c].map((r) => git(r.dir, 'rev-parse', 'HEAD^{tree}').trim());
    expect(new Set(trees).size).toBe(1);
    expect(await a.get('knowledge', 'facts')).toHaveLength(ROUNDS);
    for (const repo of [a, b, c]) assertRepoHealthy(repo.dir);
    git(bare('three.git'), 'fsck', '--strict', '--no-progress');
  });

  itFull('http.sslCAInfo in the repository config is honoured', async () => {
    const { url } = await firstMachine('ca.git');
    const repo = await tempRepo();
    await addRemote(repo, 'origin', url);
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    try {
      await expect(sync(repo, { allowUnrelated: true })).rejects.toThrow(/fetch from origin \(https:\/\/127\.0\.0\.1:\d+\/ca\.git\) failed: .*certificate/);
      git(repo.dir, 'config', 'http.sslCAInfo', server().caFile!);
      await expect(sync(repo, { allowUnrelated: true })).resolves.toMatchObject({ remote: 'origin' });
      expect(git(repo.dir, 'rev-parse', 'origin/main').trim()).toBe(git(bare('ca.git'), 'rev-parse', 'main').trim());
    } finally {
      process.env.GIT_CONFIG_GLOBAL = globalConfig;
    }
  });

  itFull(`${MACHINES} machines syncing at the same moment all succeed`, () => simultaneousSyncs(server().createRepo('race.git'), MACHINES, ROUNDS));
  // more machines than a sync has pushes (six): those that lost a round wait a random time, so more than one wins the next
  itFull('8 machines syncing at the same moment all succeed', () => simultaneousSyncs(server().createRepo('race8.git'), 8, 1), 120_000);

  itFull('unrelated histories are refused with exit 4, and merged with --allow-unrelated', async () => {
    const { url } = await firstMachine('unrelated.git');
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    await cli(['set', 'knowledge', 'mine', '1'], { dir });
    await cli(['remote', 'add', 'origin', url], { dir });
    const head = headOid(dir);
    const refused = await cli(['sync'], { dir });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/origin\/main \(https:.*\) has a history unrelated to this repository's .* --allow-unrelated/);
    expect(headOid(dir)).toBe(head);
    const merged = await cli(['sync', '--allow-unrelated', '--strategy', 'ours'], { dir });
    expect(merged.code, merged.stderr).toBe(0);
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).not.toBe('1');
    assertRepoHealthy(dir);
  });

  itFull('a remote with only another branch is a clear error naming it; --branch tracks it (clone and remote add)', async () => {
    const url = server().createRepo('master.git');
    const other = await tempRepo();
    git(other.dir, 'push', '-q', `${url.replace('https://', `https://${USER}:${PASSWORD}@`)}`, 'main:master');
    const dir = join(await tempDir(), 'state');
    const refused = await cli(['clone', url], { dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/origin \(https:.*master\.git\) has no branch main; it has master\. Track one with --branch/);
    expect(() => readFileSync(join(dir, '.git/HEAD'))).toThrow(); // the failed clone left nothing
    const cloned = await cli(['clone', url, '--branch', 'master'], { dir });
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(cloned.stdout).toMatch(/^cloned into /m);
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    expect(headOid(dir)).toBe(headOid(other.dir));
    await cli(['set', 'knowledge', 'via', 'master'], { dir });
    expect((await cli(['sync'], { dir })).code).toBe(0);
    expect(git(bare('master.git'), 'rev-parse', 'master').trim()).toBe(headOid(dir));
    // remote add --branch, on a repo that shares the history
    const third = join(await tempDir(), 'state');
    await cli(['clone', url, '--branch', 'master'], { dir: third });
    await cli(['remote', 'add', 'mirror', url, '--branch', 'master'], { dir: third });
    expect((await cli(['pull', '--remote', 'mirror', '--json'], { dir: third })).code).toBe(0);
  });

  itFull('a failed clone (wrong token) removes what it made, and a retry works', async () => {
    const { url } = await firstMachine('retry-clone.git');
    const dir = join(await tempDir(), 'state');
    const denied = await cli(['clone', url], { dir, env: { GITSTATE_TOKEN: 'wrong' } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/authentication failed for origin \(https:.*\) on fetch: the server refused the token in GITSTATE_TOKEN/);
    expect(() => readFileSync(join(dir, '.git/HEAD'))).toThrow();
    expect((await cli(['clone', url], { dir })).code).toBe(0);
  });

  itFull('the server down and the connection cut mid-pack: clear errors, local data intact, the next sync recovers', async () => {
    const { repo } = await firstMachine('faults.git');
    await repo.set('knowledge', 'precious', 'kept');
    const head = headOid(repo.dir);
    hookCuttingPush(bare('faults.git'));
    await expect(sync(repo)).rejects.toThrow(/push to origin \(https:.*faults\.git\) (failed|refused)/);
    removeHooks(bare('faults.git'));
    expect(headOid(repo.dir)).toBe(head);
    assertRepoHealthy(repo.dir);
    const down = await tempRepo();
    await addRemote(down, 'origin', 'https://127.0.0.1:9/none.git');
    await expect(sync(down, { timeoutMs: 5000 })).rejects.toThrow(/fetch from origin \(https:\/\/127\.0\.0\.1:9\/none\.git\) failed: fatal: unable to access .*(Failed to connect|Connection refused)|did not answer/);
    await sync(repo);
    expect(git(bare('faults.git'), 'rev-parse', 'main').trim()).toBe(head);
  });

  itFull('a remote rewritten by a force push: nothing of ours is lost, we never force', async () => {
    const { url, repo } = await firstMachine('forced.git');
    await repo.set('knowledge', 'ours', 'published');
    await sync(repo);
    const other = await clone(url);
    git(other.dir, 'reset', '-q', '--hard', 'HEAD~1');
    await other.set('knowledge', 'theirs', 'rewritten');
    git(other.dir, 'push', '-q', '--force', url.replace('https://', `https://${USER}:${PASSWORD}@`), 'main');
    const rewritten = git(bare('forced.git'), 'rev-parse', 'main').trim();
    await sync(repo);
    expect(await repo.get('knowledge')).toMatchObject({ ours: 'published', theirs: 'rewritten' });
    expect(git(bare('forced.git'), 'merge-base', '--is-ancestor', rewritten, 'main')).toBe('');
  });
});

describe.each(['native', 'isomorphic'] as const)('https on the %s transport', (transport) => {
  beforeAll(() => {
    if (transport === 'isomorphic') process.env.GITSTATE_HTTP_TRANSPORT = 'isomorphic';
  });
  afterAll(() => {
    delete process.env.GITSTATE_HTTP_TRANSPORT;
  });
  const name = (n: string) => `${transport}-${n}.git`;

  it('a push whose ref update loses a race on the server (a hook moves main once) is fetched, merged and retried', async () => {
    const { repo } = await firstMachine(name('moved'));
    await repo.set('knowledge', 'mine', 1);
    hookMovingMainOnce(bare(name('moved')));
    const result = await sync(repo);
    removeHooks(bare(name('moved')));
    expect(result.pushed).toBe(true);
    expect(git(bare(name('moved')), 'rev-parse', 'main').trim()).toBe(headOid(repo.dir));
    expect(git(repo.dir, 'log', '--format=%s')).toContain('a commit from elsewhere, made during the push');
    assertRepoHealthy(repo.dir);
  });

  it('a sync with a local commit of its own fetches only what is new, not the whole repository again', async () => {
    const { url, repo } = await firstMachine(name('incremental'));
    for (let i = 0; i < 20; i++) await repo.set(`projects/p${i}/current_work`, 'n', i);
    await sync(repo);
    const other = await clone(url);
    await other.set('knowledge', 'local', 1); // its main is now ahead of what the server has
    await repo.set('knowledge', 'remote', 1);
    await sync(repo);
    const objects = () => {
      const counts = Object.fromEntries(git(other.dir, 'count-objects', '-v').trim().split('\n').map((l) => l.split(': ')));
      return Number(counts.count) + Number(counts['in-pack']);
    };
    const before = objects();
    expect(before).toBeGreaterThan(60);
    expect(await sync(other)).toMatchObject({ action: 'merged', pushed: true });
    // the remote's new commit, tree and blob, and the merge's own commit and tree: not every object again
    expect(objects() - before).toBeLessThan(15);
    assertRepoHealthy(other.dir);
  });

  it('the first fetch of a repo whose history the server has already (no tracking ref yet) fetches only what is new', async () => {
    const { repo } = await firstMachine(name('first-fetch'));
    for (let i = 0; i < 20; i++) await repo.set(`projects/p${i}/current_work`, 'n', i);
    await sync(repo);
    const copy = join(await tempDir(), 'state');
    execFileSync('cp', ['-a', repo.dir, copy]);
    git(copy, 'update-ref', '-d', `refs/remotes/origin/main`);
    await repo.set('knowledge', 'remote', 1);
    await sync(repo);
    const other = await StateRepo.open(copy);
    const counts = () => Object.fromEntries(git(copy, 'count-objects', '-v').trim().split('\n').map((l) => l.split(': ')));
    const objects = () => Number(counts().count) + Number(counts()['in-pack']);
    const before = objects();
    expect(await pull(other)).toMatchObject({ action: 'fast-forward' });
    expect(objects() - before).toBeLessThan(10);
    assertRepoHealthy(copy);
  });

  itFull("a protected branch is a clear error with the server's own text, never retried", async () => {
    const { repo } = await firstMachine(name('protected'));
    await repo.set('knowledge', 'mine', 1);
    hookProtectingMain(bare(name('protected')));
    const head = headOid(repo.dir);
    const err = (await sync(repo).catch((e: unknown) => e)) as Error & { code?: string };
    removeHooks(bare(name('protected')));
    expect(err.code).toBe('PUSH_REFUSED');
    expect(err.message).toMatch(/^push to origin \(https:.*\) refused: .*declined.*main is protected: pushes need a review/);
    expect(err.message).not.toMatch(/hint:/);
    expect(headOid(repo.dir)).toBe(head);
  });

  itFull('a non-fast-forward push is rejected with a message that says so, and sync answers it', async () => {
    const { url, repo } = await firstMachine(name('nff'));
    const other = await clone(url);
    await other.set('knowledge', 'other', 1);
    await sync(other);
    await repo.set('knowledge', 'mine', 1);
    const err = (await push(repo).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('PUSH_REJECTED');
    expect(err.message).toMatch(/push to origin \(https:.*\) rejected: its main moved \(.*(fetch first|non-fast-forward|not-fast-forward).*\)/);
    expect(await sync(repo)).toMatchObject({ action: 'merged', pushed: true });
    expect(await push(repo)).toMatchObject({ pushed: false });
  });

  it('authentication: says what failed and where the credentials came from; the credential helper hears reject and approve', async () => {
    const { url } = await firstMachine(name('auth'));
    const repo = await clone(url);
    const wrong = async (env: Record<string, string | undefined>) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
      try {
        return ((await sync(repo).catch((e: unknown) => e)) as Error).message;
      } finally {
        restoreEnv(saved);
      }
    };
    expect(await wrong({ GITSTATE_TOKEN: 'wrong-token-123' })).toMatch(/^authentication failed for origin \(https:\/\/127\.0\.0\.1:\d+\/.*\) on fetch: the server refused the token in GITSTATE_TOKEN/);
    expect(await wrong({ GITSTATE_TOKEN: undefined })).toMatch(/^authentication failed for origin .* no credentials were given: set GITSTATE_TOKEN/);
    // A helper that answers from a file and logs what git tells it.
    const home = await tempDir();
    const log = join(home, 'helper.log');
    const helper = join(home, 'helper.sh');
    writeFileSync(join(home, 'password'), 'not-the-password');
    writeFileSync(helper, `#!/bin/sh\necho "$1" >> ${log}\nif [ "$1" = get ]; then echo username=${USER}; echo "password=$(cat ${join(home, 'password')})"; fi\n`, { mode: 0o755 });
    const config = join(home, 'gitconfig');
    writeFileSync(config, `[http]\n\tsslCAInfo = ${server().caFile}\n[credential]\n\thelper = ${helper}\n`);
    const refused = await wrong({ GITSTATE_TOKEN: undefined, GIT_CONFIG_GLOBAL: config });
    expect(refused).toMatch(/^authentication failed for origin .* the server refused the credentials from git's credential helper, which was told to forget them/);
    expect(readFileSync(log, 'utf8').split('\n')).toContain('erase');
    writeFileSync(join(home, 'password'), PASSWORD);
    writeFileSync(log, '');
    expect(await wrong({ GITSTATE_TOKEN: undefined, GIT_CONFIG_GLOBAL: config })).toBeUndefined();
    expect(readFileSync(log, 'utf8').split('\n')).toContain('store');
    expect(refused).not.toContain('not-the-password');
  });
});
