/**
 * Patching one index entry in place: native git reads the result (checksum
 * and all), and a patch whose index was never written is undone before the next.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IndexPatcher } from '../../src/git/index-patch.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

describe('IndexPatcher', () => {
  it('patches an entry so native git reads it; an unconfirmed patch is undone before the next', async () => {
    const repo = await tempRepo();
    const index = join(repo.gitdir, 'index');
    const stage = (file: string) => git(repo.dir, 'ls-files', '-s', '--', file).split(/\s+/)[1];
    const knowledgeBlob = stage('knowledge.yaml');
    const patcher = new IndexPatcher(index);
    const statsOf = (file: string) => statSync(join(repo.dir, file), { bigint: true });

    // A write that failed after patching: its index never reached the file.
    expect(patcher.patch('knowledge.yaml', 'a'.repeat(40), statsOf('knowledge.yaml'))).not.toBeNull();

    // The next write, of another file: only its own entry changes.
    writeFileSync(join(repo.dir, 'shared_context.yaml'), 'note: 1\n');
    const blob = git(repo.dir, 'hash-object', '-w', 'shared_context.yaml').trim();
    const patched = patcher.patch('shared_context.yaml', blob, statsOf('shared_context.yaml'))!;
    writeFileSync(index, patched);
    patcher.written(patched);
    expect(stage('knowledge.yaml')).toBe(knowledgeBlob);
    expect(stage('shared_context.yaml')).toBe(blob);
    // staged and matching the work tree: git trusts the patched stat data and checksum
    expect(git(repo.dir, 'status', '--porcelain')).toBe('M  shared_context.yaml\n');

    // and the patcher goes on from what it wrote, without re-reading it
    writeFileSync(join(repo.dir, 'knowledge.yaml'), 'fact: 1\n');
    const knowledgeNew = git(repo.dir, 'hash-object', '-w', 'knowledge.yaml').trim();
    const again = patcher.patch('knowledge.yaml', knowledgeNew, statsOf('knowledge.yaml'))!;
    writeFileSync(index, again);
    patcher.written(again);
    expect(stage('knowledge.yaml')).toBe(knowledgeNew);
    expect(stage('shared_context.yaml')).toBe(blob);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('M  knowledge.yaml\nM  shared_context.yaml\n');
    git(repo.dir, 'commit', '-qm', 'by hand');
    assertRepoHealthy(repo.dir);
  });
});
