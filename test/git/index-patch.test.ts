/**
 * Updating git's index without isomorphic-git: the bytes are what native
 * git's own update-index writes for the same files, native git reads the result
 * (checksum and all), and what this cannot handle is left to isomorphic-git.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as patching from '../../src/git/index-patch.js';
import { updateIndex, type EntryUpdate } from '../../src/git/index-patch.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempDir, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

describe('updateIndex', () => {
  it('rewrites only the entries given, so native git trusts them and the checksum', async () => {
    const repo = await tempRepo();
    const index = join(repo.gitdir, 'index');
    const staged = (file: string) => git(repo.dir, 'ls-files', '-s', '--', file).split(/\s+/)[1];
    const knowledgeBlob = staged('knowledge.yaml');
    writeFileSync(join(repo.dir, 'shared_context.yaml'), 'note: 1\n');
    const blob = git(repo.dir, 'hash-object', '-w', 'shared_context.yaml').trim();
    const patched = updateIndex(readFileSync(index), [{ path: 'shared_context.yaml', oid: blob, stats: statSync(join(repo.dir, 'shared_context.yaml'), { bigint: true }) }]);
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

  it('declines an index with extensions, or one in the middle of a merge', async () => {
    const repo = await tempRepo();
    const stats = statSync(join(repo.dir, 'knowledge.yaml'), { bigint: true });
    git(repo.dir, 'write-tree'); // native git adds a cache-tree extension
    git(repo.dir, 'update-index', '--refresh');
    const withExtension = readFileSync(join(repo.gitdir, 'index'));
    expect(updateIndex(withExtension, [{ path: 'knowledge.yaml', oid: 'a'.repeat(40), stats }])).toBeNull();
    rmSync(join(repo.gitdir, 'index'));
    const blob = git(repo.dir, 'rev-parse', 'HEAD:knowledge.yaml').trim();
    execFileSync('git', ['update-index', '--index-info'], { cwd: repo.dir, input: `100644 ${blob} 1\tknowledge.yaml\n100644 ${blob} 2\tknowledge.yaml\n` });
    expect(updateIndex(readFileSync(join(repo.gitdir, 'index')), [{ path: 'new.yaml', oid: 'a'.repeat(40), stats }])).toBeNull();
  });

  it("builds byte for byte what native git's update-index builds, over random adds, rewrites and removals", async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    git(dir, 'config', 'index.version', '2');
    // names that sort differently as text and as bytes, nest, and share prefixes with folders
    const segment = fc.constantFrom('a', 'a-b', 'a.b', 'a0', 'ab', 'b', 'é', 'ü', 'Z', '_x', 'a'.repeat(70));
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `${parts.join('/')}.yaml`);
    const step = fc.record({ path, content: fc.option(fc.string({ maxLength: 8 }), { nil: null }) });
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }), (batches) => {
        for (const name of git(dir, 'ls-files', '-co', '-z').split('\0').filter(Boolean)) rmSync(join(dir, name));
        rmSync(join(dir, '.git', 'index'), { force: true });
        let ours: Buffer | null = null;
        for (const batch of batches) {
          const updates = new Map<string, EntryUpdate>();
          for (const { path: p, content } of batch) {
            const file = join(dir, p);
            // the same bytes again: native git, built without USE_NSEC, keeps the old stat data when only the nanoseconds differ
            if (content !== null && existsSync(file) && readFileSync(file, 'utf8') === content) continue;
            try {
              if (content === null) rmSync(file, { force: true });
              else {
                mkdirSync(dirname(file), { recursive: true });
                writeFileSync(file, content);
              }
            } catch {
              continue;
            }
            const oid = content === null ? null : execFileSync('git', ['hash-object', '-w', '--', p], { cwd: dir }).toString().trim();
            updates.set(p, oid ? { path: p, oid, stats: lstatSync(file, { bigint: true }) } : { path: p, oid: null });
          }
          if (updates.size === 0) continue;
          ours = updateIndex(ours, [...updates.values()]);
          expect(ours).not.toBeNull();
          execFileSync('git', ['update-index', '--add', '--remove', '-z', '--stdin'], { cwd: dir, input: [...updates.keys()].map((p) => `${p}\0`).join('') });
          // git writes no index for removals from none: ours is then the empty one
          const native = existsSync(join(dir, '.git', 'index')) ? readFileSync(join(dir, '.git', 'index')) : updateIndex(null, [])!;
          expect(ours!.equals(native)).toBe(true);
        }
      }),
      { numRuns: sized(40, 200) },
    );
  });

  it('a write to an existing file of a large index goes through the patch, and git fsck accepts it', async () => {
    const repo = await tempRepo();
    await repo.transaction(async (tx) => {
      for (let i = 0; i < 600; i++) await tx.write(`notes/n${String(i).padStart(3, '0')}`, `n: ${i}\n`);
    });
    expect(statSync(join(repo.gitdir, 'index')).size).toBeGreaterThan(32 * 1024);
    const spy = vi.spyOn(patching, 'updateIndex');
    await repo.set('notes/n300', 'n', 'changed');
    await repo.set('notes/n301', 'n', 'changed too');
    const patchedLarge = spy.mock.results.filter((r) => ((r.value as Buffer | null)?.length ?? 0) > 32 * 1024);
    spy.mockRestore();
    expect(patchedLarge).toHaveLength(2);
    assertRepoHealthy(repo.dir);
    expect(git(repo.dir, 'ls-files', '-s', '--', 'notes/n300.yaml').split(/\s+/)[1]).toBe(git(repo.dir, 'rev-parse', 'HEAD~1:notes/n300.yaml').trim());
  });
});
