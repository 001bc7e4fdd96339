/**
 * What differs on disk from HEAD (GitStore.diskChanges): native git's answer
 * must equal isomorphic-git's statusMatrix (the answer without git) after any
 * mix of hand edits, deletions, new and ignored files, and index changes made
 * with native git.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { GitStore } from '../../src/git/store.js';
import { cleanupTempDirs, git, restoreEnv, tempDir, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const FILES = ['knowledge.yaml', 'notes.yaml', 'projects/a/current_work.yaml', 'projects/b/x.json', 'scratch.tmp', 'keep/.gitkeep'];
type Op = { kind: 'write' | 'delete' | 'add' | 'uncache' | 'commit'; file: string; text: string };
const op = fc.record({
  kind: fc.constantFrom<Op['kind']>('write', 'write', 'delete', 'add', 'uncache', 'commit'),
  file: fc.constantFrom(...FILES),
  text: fc.constantFrom('a: 1\n', 'a: 2\n', 'b: [1, 2]\n', ''),
});

async function withoutGit<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  process.env.PATH = await tempDir(); // no git on it: the statusMatrix answer
  try {
    return await fn();
  } finally {
    restoreEnv(saved);
  }
}

describe('changes on disk against HEAD', () => {
  it('native git answers as statusMatrix does', async () => {
    const repo = await tempRepo();
    writeFileSync(join(repo.dir, '.gitignore'), `${['*.tmp', 'config.json'].join('\n')}\n`);
    git(repo.dir, 'add', '.gitignore');
    git(repo.dir, 'commit', '-qm', 'ignore scratch files');
    const base = git(repo.dir, 'rev-parse', 'HEAD').trim();
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        git(repo.dir, 'reset', '-q', '--hard', base);
        git(repo.dir, 'clean', '-qfdx');
        for (const { kind, file, text } of ops) {
          const path = join(repo.dir, file);
          if (kind === 'write') {
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, text);
          } else if (kind === 'delete') rmSync(path, { force: true });
          else if (kind === 'add') git(repo.dir, 'add', '-A');
          // -f: take it out of the index even when its staged content is neither the file's nor HEAD's
          else if (kind === 'uncache') git(repo.dir, 'rm', '-q', '--cached', '-f', '--ignore-unmatch', file);
          else git(repo.dir, 'commit', '-qam', 'by hand', '--allow-empty');
        }
        const sorted = (list: Array<{ path: string }>) => [...list].sort((a, b) => a.path.localeCompare(b.path));
        const native = sorted(await new GitStore(repo.dir).diskChanges());
        const matrix = sorted(await withoutGit(() => new GitStore(repo.dir).diskChanges()));
        if (native.length > 0) nonEmpty++;
        expect(native).toEqual(matrix);
      }),
      { numRuns: sized(15, 300) },
    );
    expect(nonEmpty).toBeGreaterThan(0); // the runs compared something
  });

  it('names nothing on a clean tree, and each kind of change as it is', async () => {
    const repo = await tempRepo();
    const store = new GitStore(repo.dir);
    expect(await store.diskChanges()).toEqual([]);
    writeFileSync(join(repo.dir, 'knowledge.yaml'), 'edited: by hand\n');
    rmSync(join(repo.dir, 'current_work.yaml'));
    writeFileSync(join(repo.dir, 'new.yaml'), 'n: 1\n');
    const changes = [...(await store.diskChanges())].sort((a, b) => a.path.localeCompare(b.path));
    expect(changes).toEqual([
      { path: 'current_work.yaml', atHead: true, onDisk: false },
      { path: 'knowledge.yaml', atHead: true, onDisk: true },
      { path: 'new.yaml', atHead: false, onDisk: true },
    ]);
  });
});
