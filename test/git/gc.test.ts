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

  it('gitstate gc --json', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const r = await cli(['gc', '--json'], { dir: repo.dir });
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'native', after: { looseObjects: 0 } });
  });
});
