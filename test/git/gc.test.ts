import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gc } from '../../src/gc/gc.js';
import { History } from '../../src/history/history.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, tempRepo } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

describe('gc', () => {
  for (const native of [true, false]) {
    (native ? it : itFull)(`${native ? 'native git gc' : 'isomorphic-git packObjects + indexPack'}: packs loose objects, keeps everything reachable`, async () => {
      const repo = await tempRepo();
      for (let i = 0; i < 40; i++) await repo.set('knowledge', 'n', i);
      const commits = commitCount(repo.dir);
      const result = await gc(repo, { native });
      expect(result.method).toBe(native ? 'native' : 'isomorphic-git');
      expect(result.before.looseObjects).toBeGreaterThan(100);
      expect(result.after.looseObjects).toBe(0);
      expect(result.after.packs).toBeGreaterThanOrEqual(1);
      assertRepoHealthy(repo.dir);
      expect(git(repo.dir, 'count-objects', '-v')).toMatch(/count: 0/);
      // Everything still reads and writes after packing.
      expect(commitCount(repo.dir)).toBe(commits);
      expect((await new History(repo).log({ file: 'knowledge', key: 'n' })).length).toBe(40);
      await repo.set('knowledge', 'after_gc', true);
      expect(await repo.get('knowledge', 'after_gc')).toBe(true);
      assertRepoHealthy(repo.dir);
    });
  }

  it("a native git gc between two writes of one process: what it moved into a new pack is read there, without isomorphic-git", async () => {
    const repo = await tempRepo();
    for (let i = 0; i < 5; i++) await repo.set('knowledge', 'n', i);
    const store = await repo.store();
    const first = git(repo.dir, 'rev-list', '--max-parents=0', 'HEAD').trim();
    expect(store.storedCommit(first)).not.toBeNull(); // loose, and the pack folder (empty) looked at
    git(repo.dir, 'gc', '-q'); // every loose object into a new pack, the loose ones removed
    expect(readdirSync(join(repo.gitdir, 'objects/pack')).some((n) => n.endsWith('.pack'))).toBe(true);
    expect(store.storedCommit(first)?.oid).toBe(first);
    // and again: the pack read above replaced by another one
    await repo.set('knowledge', 'n', 'after');
    git(repo.dir, 'gc', '-q', '--prune=now');
    const parent = git(repo.dir, 'rev-parse', 'HEAD~1').trim();
    expect(store.storedCommit(parent)?.oid).toBe(parent);
    await repo.set('knowledge', 'n', 'last');
    assertRepoHealthy(repo.dir);
  });

  itFull('CLI writes beside a native git gc running in a loop all succeed (repacks replace the packs they read)', async () => {
    const repo = await tempRepo();
    let stop = false;
    let repacks = 0;
    const loop = (async () => {
      while (!stop) {
        await new Promise<void>((resolve) => spawn('git', ['gc', '-q'], { cwd: repo.dir, stdio: 'ignore' }).on('exit', () => resolve()));
        repacks++;
      }
    })();
    const failures: string[] = [];
    try {
      await Promise.all(
        [0, 1, 2].map(async (w) => {
          for (let i = 0; i < 25; i++) {
            const r = await cli(['append', 'knowledge', `w${w}`, String(i)], { dir: repo.dir });
            if (r.code !== 0) failures.push(r.stderr.trim());
          }
        }),
      );
    } finally {
      stop = true;
      await loop;
    }
    expect(failures).toEqual([]);
    expect(repacks).toBeGreaterThanOrEqual(3);
    for (const w of [0, 1, 2]) expect(await repo.get('knowledge', `w${w}`)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    assertRepoHealthy(repo.dir);
  });

  it('gitstate gc --json', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const r = await cli(['gc', '--json'], { dir: repo.dir });
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'native', after: { looseObjects: 0 } });
  });
});
