/**
 * The write pipeline: group commit (writes queued while a commit is in flight
 * become chained commits published together), a failed write dropped from its
 * group alone, and re-application when native git moved the branch first.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { BranchMovedError, SchemaError } from '../../src/errors.js';
import { nodeDisk, type Disk } from '../../src/git/disk.js';
import { assertRepoHealthy, cleanupTempDirs, commitCount, git, tempRepo, writeAsGroup } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

/** A disk that counts ref moves and can run something just before a ref lock is taken. */
function watchingDisk(beforeRefLock?: () => void): Disk & { refMoves: number } {
  const disk = {
    ...nodeDisk,
    refMoves: 0,
    linkSync(from: string, to: string) {
      // the branch's lock is taken by linking the file made for it into place
      if (to.endsWith('refs/heads/main.lock')) beforeRefLock?.();
      nodeDisk.linkSync(from, to);
    },
    renameSync(from: string, to: string) {
      if (to.endsWith('refs/heads/main')) disk.refMoves++;
      nodeDisk.renameSync(from, to);
    },
  };
  return disk;
}

/**
 * A commit by native git that gets in while gitstate holds the index lock: the
 * plumbing a tool would use (commit-tree, then update-ref, which takes the ref
 * lock only).
 */
function nativeCommit(dir: string, n: number): void {
  const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const commit = run('commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', `native ${n}`);
  run('update-ref', 'refs/heads/main', commit);
}

describe('group commit', () => {
  it('concurrent writes in one process: one commit each, chained, published in fewer ref moves', async () => {
    const created = await tempRepo();
    const disk = watchingDisk();
    const repo = await StateRepo.open(created.dir, { disk });
    const before = commitCount(repo.dir);
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => repo.set(i % 2 ? 'knowledge' : 'shared_context', `k${i}`, i)));
    expect(commitCount(repo.dir)).toBe(before + 24);
    // every write names its own commit, and they form one chain in the order they were queued
    const chain = git(repo.dir, 'rev-list', '--reverse', `HEAD~24..HEAD`).trim().split('\n');
    expect(results.map((r) => r.commit)).toEqual(chain);
    expect(disk.refMoves).toBeLessThan(24);
    expect(disk.refMoves).toBeGreaterThan(0);
    for (let i = 0; i < 24; i++) expect(await repo.get(i % 2 ? 'knowledge' : 'shared_context', `k${i}`)).toBe(i);
    assertRepoHealthy(repo.dir);
  });

  it('a write that fails validation is dropped from its group alone; the others land', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const outcomes = await Promise.allSettled([
      repo.set('knowledge', 'a', 1),
      repo.set('environments', 'dev.namespace', 5), // namespace must be a string
      repo.set('knowledge', 'b', 2),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(SchemaError);
    expect(commitCount(repo.dir)).toBe(before + 2);
    expect(await repo.get('knowledge')).toEqual({ a: 1, b: 2 });
    expect(git(repo.dir, 'log', '--format=%s', '-2')).not.toContain('environments');
    assertRepoHealthy(repo.dir);
  });
});

describe('a group commit beside git gc', () => {
  it('a git repack -a -d between placing a group pack and moving the branch loses nothing (the pack has a .keep until then)', async () => {
    const created = await tempRepo();
    let repacks = 0;
    const disk: Disk = {
      ...nodeDisk,
      renameSync(from: string, to: string) {
        nodeDisk.renameSync(from, to);
        // the pack is in place, the branch not moved yet: its objects are unreachable now
        if (/objects\/pack\/pack-[0-9a-f]{40}\.idx$/.test(to)) {
          execFileSync('git', ['repack', '-a', '-d', '-q'], { cwd: created.dir });
          repacks++;
        }
      },
    };
    const repo = await StateRepo.open(created.dir, { disk });
    const before = commitCount(repo.dir);
    await writeAsGroup(repo, Array.from({ length: 6 }, (_, i) => (r: StateRepo) => r.set(i % 2 ? 'knowledge' : 'shared_context', `k${i}`, i)));
    expect(repacks).toBeGreaterThan(0);
    expect(commitCount(repo.dir)).toBe(before + 7);
    git(repo.dir, 'rev-list', '--objects', '--all', '--missing=error');
    for (let i = 0; i < 6; i++) expect(await repo.get(i % 2 ? 'knowledge' : 'shared_context', `k${i}`)).toBe(i);
    expect(readdirSync(join(repo.gitdir, 'objects', 'pack')).filter((n) => n.endsWith('.keep'))).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  it("a loose object's folder removed by git's prune-packed between its mkdir and the rename: made again, the write lands", async () => {
    const created = await tempRepo();
    const removed: string[] = [];
    const disk: Disk = {
      ...nodeDisk,
      renameSync(from: string, to: string) {
        const folder = dirname(to);
        // as `git prune-packed` does to a fan-out folder it emptied: once per folder
        if (/objects\/[0-9a-f]{2}$/.test(folder) && !removed.includes(folder) && readdirSync(folder).length === 0) {
          rmdirSync(folder);
          removed.push(folder);
        }
        nodeDisk.renameSync(from, to);
      },
    };
    const repo = await StateRepo.open(created.dir, { disk });
    await repo.set('knowledge', 'after_prune', true);
    expect(removed.length).toBeGreaterThan(0);
    expect(await repo.get('knowledge', 'after_prune')).toBe(true);
    git(repo.dir, 'rev-list', '--objects', '--all', '--missing=error');
    assertRepoHealthy(repo.dir);
  });
});

describe('when native git moved the branch first', () => {
  it('re-applies the write on the new HEAD: both commits kept', async () => {
    const created = await tempRepo();
    let natives = 0;
    const disk = watchingDisk(() => {
      if (natives < 2) nativeCommit(created.dir, ++natives);
    });
    const repo = await StateRepo.open(created.dir, { disk });
    await repo.set('knowledge', 'mine', true);
    expect(git(repo.dir, 'log', '--format=%s', '-3').trim().split('\n')).toEqual(['set knowledge.yaml mine', 'native 2', 'native 1']);
    expect(await repo.get('knowledge', 'mine')).toBe(true);
    assertRepoHealthy(repo.dir);
  });

  it('gives up with BRANCH_MOVED (exit 1) when the branch keeps moving, nothing of its own committed', async () => {
    const created = await tempRepo();
    let natives = 0;
    const repo = await StateRepo.open(created.dir, { disk: watchingDisk(() => nativeCommit(created.dir, ++natives)) });
    const err = await repo.set('knowledge', 'mine', true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BranchMovedError);
    expect((err as BranchMovedError).code).toBe('BRANCH_MOVED');
    expect((err as BranchMovedError).exitCode).toBe(1);
    expect(git(repo.dir, 'log', '--format=%s').split('\n').filter((s) => s.startsWith('set '))).toEqual([]);
    expect(natives).toBeGreaterThan(1);
    assertRepoHealthy(repo.dir);
  });
});
