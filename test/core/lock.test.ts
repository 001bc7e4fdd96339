/**
 * The repository lock between operations: passed straight to an operation the
 * process has already started, released when none follows, and released at
 * once when another process asks for it.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, cli, git, tempRepo } from '../helpers/repo.js';
import { writer } from '../helpers/writer.js';

afterAll(cleanupTempDirs);

const tick = () => new Promise((r) => setImmediate(r));

describe('repository lock', () => {
  it('back-to-back writes keep one lock; it is released when the event loop turns', async () => {
    const repo = await tempRepo();
    const lockDir = join(repo.gitdir, 'gitstate.lock');
    await repo.set('knowledge', 'n', -1); // loads what a write needs
    await tick();
    expect(existsSync(lockDir)).toBe(false);
    const seen = new Set<string>();
    // (a few writes: a lock passed on for 100 ms is released anyway)
    for (let i = 0; i < 3; i++) {
      await repo.set('knowledge', 'n', i);
      const stats = statSync(lockDir, { bigint: true }); // still there: kept for the next write
      seen.add(`${stats.ino}:${stats.birthtimeNs}`);
    }
    expect(seen.size).toBe(1);
    await tick();
    expect(existsSync(lockDir)).toBe(false);
    // a write after the release takes it afresh
    await repo.set('knowledge', 'n', 3);
    await tick();
    expect(existsSync(lockDir)).toBe(false);
    expect(git(repo.dir, 'log', '-5', '--format=%s').trim().split('\n')).toEqual(Array(5).fill('set knowledge.yaml n'));
    assertRepoHealthy(repo.dir);
  });

  it('a failed operation passes the lock on too, and nothing it tried is committed', async () => {
    const repo = await tempRepo();
    const head = git(repo.dir, 'rev-parse', 'HEAD').trim();
    await expect(repo.set('knowledge', 'a[', 1)).rejects.toThrow();
    await expect(repo.set('environments', 'dev.namespace', 5)).rejects.toThrow(/namespace/);
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(head);
    await repo.set('knowledge', 'ok', true);
    await tick();
    expect(existsSync(join(repo.gitdir, 'gitstate.lock'))).toBe(false);
  });

  it('a process writing non-stop lets a waiting process in: the waiter asks, the holder releases', async () => {
    const repo = await tempRepo();
    const stop = join(repo.gitdir, 'stop-loop');
    const looper = writer(repo.dir, 'loop', 'l', 0, { STOP_FILE: stop });
    try {
      while (!looper.stdout().includes('looping')) {
        if (looper.proc.exitCode !== null) throw new Error(looper.stderr());
        await new Promise((r) => setTimeout(r, 10));
      }
      const started = Date.now();
      const r = await cli(['set', 'knowledge', 'waiter', 'in'], { dir: repo.dir, env: { GITSTATE_LOCK_TIMEOUT_MS: '8000' } });
      const waited = Date.now() - started;
      expect(r.code, r.stderr).toBe(0);
      expect(waited).toBeLessThan(6000); // well within the 8 s allowed
      // the looper kept writing all along (it had not finished when the waiter got in)
      expect(looper.proc.exitCode).toBeNull();
      console.log(`waiter got the lock from a non-stop writer in ${waited} ms (CLI start included)`);
    } finally {
      writeFileSync(stop, '');
    }
    expect(await looper.exited).toBe(0);
    expect(Number(/wrote (\d+)/.exec(looper.stdout())?.[1])).toBeGreaterThan(1);
    expect(await repo.get('knowledge', 'waiter')).toBe('in');
    assertRepoHealthy(repo.dir);
  });
});
