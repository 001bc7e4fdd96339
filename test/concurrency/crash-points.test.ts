/**
 * A crash at every step of the write path, on purpose (GITSTATE_CRASH_AT): the
 * two-file transaction is either entirely there or entirely absent after the
 * next writer has recovered, files parse, fsck is clean, and git status is clean.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { StateRepo } from '../../src/core/repo.js';
import { assertRepoHealthy, cleanupTempDirs, git, headOid, tempRepo } from '../helpers/repo.js';
import { writer } from '../helpers/writer.js';
import { itFull } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

// Publication order: git's locks taken; journal and everything else fsynced; renames (4 objects:
// 2 blobs, the root tree, the commit; then the 2 work-tree files); the ref; the index.
const BEFORE_REF = ['locked', 'synced', 'rename-1', 'rename-4', 'rename-5', 'rename-6', 'renamed'];
const AFTER_REF = ['ref-moved', 'published'];
/** `npm test` kills at one point of each phase; `npm run test:full` at every one. */
const QUICK = new Set(['locked', 'rename-4', 'renamed', 'ref-moved', 'published']);

describe('a crash at each step of a write', () => {
  for (const point of [...BEFORE_REF, ...AFTER_REF]) {
    (QUICK.has(point) ? it : itFull)(`killed at "${point}": all or nothing, and the next writer recovers`, async () => {
      const repo = await tempRepo();
      await repo.set('knowledge', 'step', 'old');
      await repo.set('shared_context', 'step', 'old');
      const head = headOid(repo.dir);
      const child = writer(repo.dir, 'one', 'new', 0, { GITSTATE_CRASH_AT: point });
      await child.exited;
      expect(child.stdout(), 'the write was never acknowledged').not.toContain('ack');
      for (const file of ['knowledge.yaml', 'shared_context.yaml']) {
        const text = await readFile(join(repo.dir, file), 'utf8');
        expect((parse(text) as { step: string }).step, file).toMatch(/^(old|new)$/);
      }
      git(repo.dir, 'fsck', '--strict', '--no-progress');

      // the dead writer's lock is taken over at once (its pid is gone), with the git locks it held
      const next = await StateRepo.open(repo.dir, { timeoutMs: 2000 });
      await next.set('notes/after', 'ok', true);
      assertRepoHealthy(repo.dir);
      const expected = AFTER_REF.includes(point) ? 'new' : 'old';
      expect(await next.get('knowledge', 'step')).toBe(expected);
      expect(await next.get('shared_context', 'step')).toBe(expected);
      expect(git(repo.dir, 'rev-parse', 'HEAD~1').trim() === head).toBe(expected === 'old');
    });
  }
});

describe('a crash while a group commit (one pack) publishes', () => {
  for (const [point, landed] of [['renamed', false], ['ref-moved', true]] as const) {
    it(`killed at "${point}": the group all or nothing; its pack's .keep (held against git gc until the branch moved) removed by the next writer`, async () => {
      const repo = await tempRepo();
      await repo.set('knowledge', 'step', 'old');
      await repo.set('shared_context', 'step', 'old');
      // the child's first write publishes alone; the two queued behind it are the group, its second publication
      const child = writer(repo.dir, 'group', 'new', 0, { GITSTATE_CRASH_AT: `${point}@2` });
      await child.exited;
      expect(child.stdout()).not.toContain('ack');
      const packDir = join(repo.gitdir, 'objects', 'pack');
      const keeps = () => readdirSync(packDir).filter((n) => n.endsWith('.keep'));
      expect(keeps(), 'the group was placed as a pack, kept from gc').toHaveLength(1);
      git(repo.dir, 'fsck', '--strict', '--no-progress');

      const next = await StateRepo.open(repo.dir, { timeoutMs: 2000 });
      await next.set('notes/after', 'ok', true);
      expect(keeps()).toEqual([]);
      assertRepoHealthy(repo.dir);
      expect(await next.get('notes/first', 'step')).toBe('new');
      for (const file of ['knowledge', 'shared_context']) expect(await next.get(file, 'step')).toBe(landed ? 'new' : 'old');
    });
  }
});
