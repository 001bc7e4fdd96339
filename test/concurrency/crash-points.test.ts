/**
 * A crash at every step of the write path, on purpose (GITSTATE_CRASH_AT): the
 * two-file transaction is either entirely there or entirely absent after the
 * next writer has recovered, files parse, fsck is clean, and git status is clean.
 */
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
