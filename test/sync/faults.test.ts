/**
 * Sync faults: the connection cut mid-push, pushes rejected again and again,
 * and a remote whose history someone rewrote. Each gives a clear error (or
 * succeeds safely), leaves local data intact with no half-applied merge, and
 * the next sync succeeds once the fault is gone.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { useGitServer } from '../helpers/server.js';
import { FakeClock } from '../helpers/clock.js';
import { assertRepoHealthy, git, gitAsync, headOid, tempDir, tempRepo } from '../helpers/repo.js';

const gitServer = useGitServer();

async function machine(name: string) {
  const url = gitServer().createRepo(`${name}.git`);
  const repo = await tempRepo();
  await addRemote(repo, 'origin', url);
  await sync(repo);
  return { url, repo, bare: join(gitServer().root, `${name}.git`) };
}

/** Another writer's commit, made directly in the bare repository on the server. */
function commitOnServer(bare: string, message: string): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'other', GIT_AUTHOR_EMAIL: 'o@example.com', GIT_COMMITTER_NAME: 'other', GIT_COMMITTER_EMAIL: 'o@example.com' };
  const tree = execFileSync('git', ['rev-parse', 'main^{tree}'], { cwd: bare, encoding: 'utf8' }).trim();
  const parent = execFileSync('git', ['rev-parse', 'main'], { cwd: bare, encoding: 'utf8' }).trim();
  const commit = execFileSync('git', ['commit-tree', tree, '-p', parent, '-m', message], { cwd: bare, env, encoding: 'utf8' }).trim();
  execFileSync('git', ['update-ref', 'refs/heads/main', commit, parent], { cwd: bare });
}

describe('sync faults', () => {
  it('the connection cut mid-push: a clear error, local data intact, the next sync succeeds', async () => {
    const { repo, bare } = await machine('cut');
    await repo.set('knowledge', 'precious', 'value');
    const head = headOid(repo.dir);
    gitServer().fault = 'cut-push';
    try {
      await expect(sync(repo, { timeoutMs: 5000 })).rejects.toThrow(/failed|did not answer/);
    } finally {
      gitServer().fault = 'none';
    }
    expect(headOid(repo.dir)).toBe(head);
    assertRepoHealthy(repo.dir);
    await sync(repo);
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(head);
    git(bare, 'fsck', '--strict', '--no-progress');
  });

  it('pushes rejected again and again: bounded retries, then a clear error; nothing half-applied', async () => {
    const { repo, bare } = await machine('busy');
    await repo.set('knowledge', 'mine', 1);
    let interferences = 0;
    gitServer().beforePush = () => {
      interferences++;
      commitOnServer(bare, `someone else ${interferences}`);
    };
    try {
      await expect(sync(repo, { retries: 2, clock: new FakeClock() })).rejects.toThrow(/push to origin \(.*\) rejected: its main moved/);
    } finally {
      gitServer().beforePush = undefined;
    }
    expect(interferences).toBe(3); // the first push and two retries
    assertRepoHealthy(repo.dir);
    expect(await repo.get('knowledge', 'mine')).toBe(1);
    expect(git(repo.dir, 'log', '-1', '--format=%P').trim().split(' ')).toHaveLength(2); // a complete merge commit
    await sync(repo);
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(headOid(repo.dir));
    const log = git(repo.dir, 'log', '--format=%s');
    for (let i = 1; i <= 3; i++) expect(log).toContain(`someone else ${i}`);
  });

  it('a remote whose history was rewritten: nothing of ours is lost and we never force-push', async () => {
    const { url, repo, bare } = await machine('rewritten');
    await repo.set('knowledge', 'ours', 'published');
    await sync(repo);
    // Someone else rewinds the server's branch and pushes a different history with force.
    const other = await cloneRepo(url, join(await tempDir(), 'state'));
    git(other.dir, 'reset', '-q', '--hard', 'HEAD~1');
    await other.set('knowledge', 'theirs', 'rewritten');
    await gitAsync(other.dir, 'push', '-q', '--force', 'origin', 'main');
    const rewrittenTip = git(bare, 'rev-parse', 'main').trim();
    await repo.set('knowledge', 'later', 1);
    await sync(repo);
    expect(await repo.get('knowledge')).toEqual({ ours: 'published', theirs: 'rewritten', later: 1 });
    const tip = git(bare, 'rev-parse', 'main').trim();
    expect((await gitAsync(bare, 'merge-base', '--is-ancestor', rewrittenTip, tip)).code).toBe(0); // moved forward from what was there
    assertRepoHealthy(repo.dir);
  });
});
