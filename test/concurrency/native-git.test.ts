/**
 * Native git and gitstate writing to the same repository at once: a shell loop
 * of `git add` + `git commit` on one file (through gitstate's own pre-commit
 * hook), a gitstate batch of sets on another. They exclude each other through
 * git's own index.lock and ref lock; a native commit that gets in first is
 * re-applied on, not an error. Neither loses a commit, fsck is clean.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, cli, git, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const NATIVE = sized(5, 40, 'NATIVE_COMMITS');
const SETS = sized(15, 150, 'GITSTATE_SETS');

/** Native git commits to hand.txt, retrying as a user would when git reports a lock. */
function nativeLoop(dir: string, count: number) {
  const script = `
    i=1
    while [ $i -le ${count} ]; do
      echo "line $i" >> hand.txt
      until git add hand.txt 2>>"$ERRS"; do sleep 0.01; done
      until git commit -qm "hand $i" 2>>"$ERRS"; do sleep 0.01; done
      i=$((i+1))
    done`;
  const errs = join(dir, '.git', 'native-errors.log');
  const proc = spawn('sh', ['-c', script], { cwd: dir, env: { ...process.env, ERRS: errs }, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { exited, errors: () => readFile(errs, 'utf8').catch(() => '') };
}

describe('native git beside gitstate', () => {
  it(`${NATIVE} native commits on one file while gitstate commits ${SETS} sets on another: all land`, async () => {
    const repo = await tempRepo();
    const before = Number(git(repo.dir, 'rev-list', '--count', 'HEAD').trim());
    const native = nativeLoop(repo.dir, NATIVE);
    const lines = Array.from({ length: SETS }, (_, i) => JSON.stringify({ op: 'set', file: 'knowledge', key: `k${i}`, value: i })).join('\n');
    const batch = await cli(['batch', '--json'], { dir: repo.dir, input: `${lines}\n`, env: { GITSTATE_LOCK_TIMEOUT_MS: '60000' } });
    expect(batch.code, batch.stderr).toBe(0);
    expect(await native.exited).toBe(0);

    const subjects = git(repo.dir, 'log', '--format=%s').trim().split('\n');
    expect(subjects.filter((s) => /^hand \d+$/.test(s))).toHaveLength(NATIVE);
    expect(subjects.filter((s) => /^set knowledge\.yaml k\d+$/.test(s))).toHaveLength(SETS);
    expect(subjects.length).toBe(before + NATIVE + SETS);
    const knowledge = (await repo.get('knowledge')) as Record<string, number>;
    for (let i = 0; i < SETS; i++) expect(knowledge[`k${i}`]).toBe(i);
    expect((await readFile(join(repo.dir, 'hand.txt'), 'utf8')).trim().split('\n')).toHaveLength(NATIVE);
    assertRepoHealthy(repo.dir);
    // what native git said when it met gitstate's locks: git's own words, nothing else
    const errors = (await native.errors()).split('\n').filter(Boolean);
    for (const line of errors.filter((l) => /^(fatal|error):/.test(l))) {
      expect(line).toMatch(/^fatal: (Unable to create '.*index\.lock': File exists\.|cannot lock ref 'HEAD': is at [0-9a-f]{40} but expected [0-9a-f]{40})$/);
    }
    console.log(`native git met gitstate's locks ${errors.filter((l) => /^fatal|^error/.test(l)).length} times and retried; gitstate re-applied on every native commit that got in first`);
  });
});
