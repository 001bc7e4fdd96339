/**
 * Commands that read the work tree or HEAD outside the lock and then commit
 * whole files (gitstate commit, sync's recovery of hand edits, revert, undo)
 * must not commit a stale copy over a write that landed in between. Each test
 * makes that write land at the worst moment: just before the command's commit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitHandEdits } from '../../src/core/hand-edits.js';
import type { StateRepo } from '../../src/core/repo.js';
import { History } from '../../src/history/history.js';
import { assertRepoHealthy, cleanupTempDirs, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

/** The first commitFiles call first lets `write` commit, as another writer would. */
function writeBeforeFirstCommit(repo: StateRepo, write: () => Promise<unknown>): { calls: () => number } {
  const original = repo.commitFiles.bind(repo);
  let calls = 0;
  repo.commitFiles = async (...args: Parameters<StateRepo['commitFiles']>) => {
    if (calls++ === 0) await write();
    return original(...args);
  };
  return { calls: () => calls };
}

describe('a write that lands between reading and committing is kept', () => {
  it('gitstate commit: the hand edit and the other write are both in HEAD', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    writeFileSync(join(repo.dir, 'shared_context.yaml'), 'note: by hand\n');
    const spy = writeBeforeFirstCommit(repo, () => repo.set('knowledge', 'b', 2));
    await commitHandEdits(repo);
    expect(spy.calls()).toBe(2); // the first attempt was refused and read again
    expect(await repo.get('knowledge')).toEqual({ a: 1, b: 2 });
    expect(await repo.get('shared_context', 'note')).toBe('by hand');
    assertRepoHealthy(repo.dir);
  });

  it('revert: the write to another key of the same file stays', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const bad = await repo.set('knowledge', 'bad', 'oops');
    const spy = writeBeforeFirstCommit(repo, () => repo.set('knowledge', 'c', 3));
    await new History(repo).revert(bad.commit);
    expect(spy.calls()).toBe(2);
    expect(await repo.get('knowledge')).toEqual({ a: 1, c: 3 });
  });

  it('undo: the same', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    await repo.set('knowledge', 'bad', 'oops');
    const spy = writeBeforeFirstCommit(repo, () => repo.set('shared_context', 'c', 3));
    await new History(repo).undo();
    expect(spy.calls()).toBe(2);
    expect(await repo.get('knowledge')).toEqual({ a: 1 });
    expect(await repo.get('shared_context', 'c')).toBe(3);
  });
});
