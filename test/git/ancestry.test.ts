import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isAncestor, mergeBase } from '../../src/git/ancestry.js';
import { cleanupTempDirs, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);
const PATH = process.env.PATH;
afterEach(() => {
  process.env.PATH = PATH;
});

/** main: A - B - C; side: A - D; alone: E, unrelated. */
async function history() {
  const repo = await tempRepo();
  await repo.set('knowledge', 'step', 'A');
  const a = headOid(repo.dir);
  await repo.set('knowledge', 'step', 'B');
  const b = headOid(repo.dir);
  await repo.set('knowledge', 'step', 'C');
  const c = headOid(repo.dir);
  git(repo.dir, 'branch', 'side', a);
  git(repo.dir, 'checkout', '-q', 'side');
  git(repo.dir, 'commit', '-q', '--allow-empty', '-m', 'D');
  const d = headOid(repo.dir);
  git(repo.dir, 'checkout', '-q', '--orphan', 'alone');
  git(repo.dir, 'commit', '-q', '--allow-empty', '-m', 'E, with no parent');
  const orphan = headOid(repo.dir);
  git(repo.dir, 'checkout', '-q', '-f', 'main');
  return { store: await repo.store(), a, b, c, d, orphan };
}

describe('isAncestor and mergeBase', () => {
  for (const native of [true, false]) {
    it(native ? 'answers through native git where it is installed' : 'walks with isomorphic-git where git is not installed', async () => {
      const { store, a, b, c, d, orphan } = await history();
      // Without git on PATH the native answer is unavailable and the walk must give the same answers.
      const bin = await tempDir(native ? 'logged-git-' : 'no-git-');
      if (native) {
        // A git that logs its arguments, then runs the real one: proof the answer came from git.
        const real = (PATH ?? '').split(':').map((dir) => join(dir, 'git')).find((file) => existsSync(file));
        writeFileSync(join(bin, 'git'), `#!/bin/sh\n${real} "$@"\nstatus=$?\necho "$@ -> $status" >> ${join(bin, 'calls')}\nexit $status\n`);
        chmodSync(join(bin, 'git'), 0o755);
        process.env.PATH = `${bin}:${PATH}`;
      } else {
        process.env.PATH = bin;
      }
      expect(await isAncestor(store, a, c)).toBe(true);
      expect(await isAncestor(store, b, c)).toBe(true);
      expect(await isAncestor(store, c, a)).toBe(false);
      expect(await isAncestor(store, d, c)).toBe(false);
      expect(await isAncestor(store, c, d)).toBe(false);
      expect(await isAncestor(store, a, d)).toBe(true);
      expect(await isAncestor(store, c, c)).toBe(true);
      expect(await mergeBase(store, c, d)).toBe(a);
      expect(await mergeBase(store, b, c)).toBe(b);
      expect(await mergeBase(store, c, orphan)).toBeNull();
      if (native) {
        // Each answer came from git itself (exit 0: yes, 1: no), not from a failed git and the walk.
        const calls = readFileSync(join(bin, 'calls'), 'utf8').split('\n').filter(Boolean);
        expect(calls).toHaveLength(9);
        expect(calls[0]).toMatch(new RegExp(`merge-base --is-ancestor ${a} ${c} -> 0$`));
        for (const call of calls) expect(call).toMatch(/ -> [01]$/);
        expect(calls.some((call) => call.endsWith(`merge-base ${c} ${orphan} -> 1`))).toBe(true);
      }
    });
  }
});
