/**
 * Updating index entries in place: native git reads the result (checksum and
 * all), and what cannot be patched is left to isomorphic-git.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as patching from '../../src/git/index-patch.js';
import { patchIndex } from '../../src/git/index-patch.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

describe('patchIndex', () => {
  it('rewrites only the entries given, so native git trusts them and the checksum', async () => {
    const repo = await tempRepo();
    const index = join(repo.gitdir, 'index');
    const staged = (file: string) => git(repo.dir, 'ls-files', '-s', '--', file).split(/\s+/)[1];
    const knowledgeBlob = staged('knowledge.yaml');
    writeFileSync(join(repo.dir, 'shared_context.yaml'), 'note: 1\n');
    const blob = git(repo.dir, 'hash-object', '-w', 'shared_context.yaml').trim();
    const patched = patchIndex(readFileSync(index), [{ path: 'shared_context.yaml', oid: blob, stats: statSync(join(repo.dir, 'shared_context.yaml'), { bigint: true }) }]);
    expect(patched).not.toBeNull();
    writeFileSync(index, patched!);
    git(repo.dir, 'fsck', '--strict', '--no-progress'); // verifies the checksum
    expect(staged('knowledge.yaml')).toBe(knowledgeBlob);
    expect(staged('shared_context.yaml')).toBe(blob);
    // staged and matching the work tree: git trusts the patched stat data
    expect(git(repo.dir, 'status', '--porcelain')).toBe('M  shared_context.yaml\n');
    git(repo.dir, 'commit', '-qm', 'by hand');
    assertRepoHealthy(repo.dir);
  });

  it('declines a path the index does not hold, or an index with extensions', async () => {
    const repo = await tempRepo();
    const index = readFileSync(join(repo.gitdir, 'index'));
    const stats = statSync(join(repo.dir, 'knowledge.yaml'), { bigint: true });
    expect(patchIndex(index, [{ path: 'nosuch.yaml', oid: 'a'.repeat(40), stats }])).toBeNull();
    git(repo.dir, 'write-tree'); // native git adds a cache-tree extension
    git(repo.dir, 'update-index', '--refresh');
    const withExtension = readFileSync(join(repo.gitdir, 'index'));
    expect(patchIndex(withExtension, [{ path: 'knowledge.yaml', oid: 'a'.repeat(40), stats }])).toBeNull();
  });

  it('a write to an existing file of a large index goes through the patch, and git fsck accepts it', async () => {
    const repo = await tempRepo();
    await repo.transaction(async (tx) => {
      for (let i = 0; i < 600; i++) await tx.write(`notes/n${String(i).padStart(3, '0')}`, `n: ${i}\n`);
    });
    expect(statSync(join(repo.gitdir, 'index')).size).toBeGreaterThan(32 * 1024);
    const spy = vi.spyOn(patching, 'patchIndex');
    await repo.set('notes/n300', 'n', 'changed');
    await repo.set('notes/n301', 'n', 'changed too');
    const patchedLarge = spy.mock.results.filter((r) => ((r.value as Buffer | null)?.length ?? 0) > 32 * 1024);
    spy.mockRestore();
    expect(patchedLarge).toHaveLength(2);
    assertRepoHealthy(repo.dir);
    expect(git(repo.dir, 'ls-files', '-s', '--', 'notes/n300.yaml').split(/\s+/)[1]).toBe(git(repo.dir, 'rev-parse', 'HEAD~1:notes/n300.yaml').trim());
  });
});
