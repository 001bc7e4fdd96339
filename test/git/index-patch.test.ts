/**
 * Patching one index entry in place: native git reads the result (checksum
 * and all), and a patch whose index was never written is undone before the next.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { IndexPatcher } from '../../src/git/index-patch.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

/** Write a patched index into place, as a commit does. */
function apply(patcher: IndexPatcher, index: string, patched: Buffer | null): void {
  if (!patched) throw new Error('not patchable');
  writeFileSync(index, patched);
  patcher.written(patched);
}

describe('IndexPatcher', () => {
  it('patches an entry so native git reads it; an unconfirmed patch is undone before the next', async () => {
    const repo = await tempRepo();
    const index = join(repo.gitdir, 'index');
    const stage = (file: string) => git(repo.dir, 'ls-files', '-s', '--', file).split(/\s+/)[1];
    const knowledgeBlob = stage('knowledge.yaml');
    const patcher = new IndexPatcher(index);
    const statsOf = (file: string) => statSync(join(repo.dir, file), { bigint: true });
    /** Write `file` as a write would, its index entry patched; returns its blob id. */
    const writePatched = (file: string, text: string): string => {
      writeFileSync(join(repo.dir, file), text);
      const blob = git(repo.dir, 'hash-object', '-w', file).trim();
      apply(patcher, index, patcher.patch(file, blob, statsOf(file)));
      return blob;
    };

    // A write that failed after patching: its index never reached the file.
    expect(patcher.patch('knowledge.yaml', 'a'.repeat(40), statsOf('knowledge.yaml'))).not.toBeNull();

    // The next write, of another file: only its own entry changes.
    const blob = writePatched('shared_context.yaml', 'note: 1\n');
    expect(stage('knowledge.yaml')).toBe(knowledgeBlob);
    expect(stage('shared_context.yaml')).toBe(blob);
    // staged and matching the work tree: git trusts the patched stat data and checksum
    expect(git(repo.dir, 'status', '--porcelain')).toBe('M  shared_context.yaml\n');

    // and the patcher goes on from what it wrote, without re-reading it
    const knowledgeNew = writePatched('knowledge.yaml', 'fact: 1\n');
    expect(stage('knowledge.yaml')).toBe(knowledgeNew);
    expect(stage('shared_context.yaml')).toBe(blob);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('M  knowledge.yaml\nM  shared_context.yaml\n');
    git(repo.dir, 'commit', '-qm', 'by hand');
    assertRepoHealthy(repo.dir);
  });

  it('patches a large index in place through the write path, with a checksum git fsck accepts', async () => {
    const repo = await tempRepo();
    await repo.transaction(async (tx) => {
      for (let i = 0; i < 600; i++) await tx.write(`notes/n${String(i).padStart(3, '0')}`, `n: ${i}\n`);
    });
    const index = join(repo.gitdir, 'index');
    expect(statSync(index).size).toBeGreaterThan(32 * 1024);
    const patch = vi.spyOn(IndexPatcher.prototype, 'patch');
    await repo.set('notes/n300', 'n', 'changed');
    await repo.set('notes/n301', 'n', 'changed too');
    // both writes patched the large index in place (not rebuilt by isomorphic-git)
    expect(patch.mock.results.map((r) => (r.value as Buffer | null)?.length ?? 0).filter((n) => n > 32 * 1024)).toHaveLength(2);
    patch.mockRestore();
    assertRepoHealthy(repo.dir); // git fsck verifies the index checksum before git status may rewrite the index
    expect(git(repo.dir, 'ls-files', '-s', '--', 'notes/n300.yaml').split(/\s+/)[1]).toBe(git(repo.dir, 'rev-parse', 'HEAD~1:notes/n300.yaml').trim());
  });
});
