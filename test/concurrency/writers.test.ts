/**
 * Real processes writing at once: the repository lock serialises them, every
 * write is one commit of one file, and nothing is lost.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';
import { writer } from '../helpers/writer.js';
import { sized } from '../helpers/tier.js';

/** Appends each writer process makes. */
const EACH = sized(6, 100, 'WRITER_APPENDS');

afterAll(cleanupTempDirs);

async function entries(dir: string, file: string): Promise<string[]> {
  return (parse(await readFile(join(dir, file), 'utf8')) as { entries?: string[] }).entries ?? [];
}

describe('concurrent writers (real processes)', () => {
  it(`4 processes × ${EACH} appends to ONE file: every entry once, one commit each, fsck clean`, async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const t = Date.now();
    const children = ['p0', 'p1', 'p2', 'p3'].map((p) => writer(repo.dir, 'append', p, EACH));
    const codes = await Promise.all(children.map((c) => c.exited));
    const seconds = (Date.now() - t) / 1000;
    expect(codes, children.map((c) => c.stderr()).join('\n')).toEqual([0, 0, 0, 0]);
    const list = await entries(repo.dir, 'knowledge.yaml');
    expect(list).toHaveLength(4 * EACH);
    expect(new Set(list).size).toBe(4 * EACH);
    for (const p of ['p0', 'p1', 'p2', 'p3']) {
      // each process's own appends stay in its order
      const mine = list.filter((e) => e.startsWith(`${p}-`));
      expect(mine).toEqual(Array.from({ length: EACH }, (_, i) => `${p}-${i}`));
    }
    expect(commitCount(repo.dir)).toBe(before + 4 * EACH);
    const touched = git(repo.dir, 'log', `-${4 * EACH}`, '--format=', '--name-only').trim().split('\n').filter(Boolean);
    expect(touched).toHaveLength(4 * EACH);
    expect(new Set(touched)).toEqual(new Set(['knowledge.yaml']));
    assertRepoHealthy(repo.dir);
    console.log(`4 x ${EACH} appends to one file: ${((4 * EACH) / seconds).toFixed(0)} commits/s`);
  });

  it(`4 processes × ${EACH} appends to DIFFERENT files: same checks per file`, async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const files = ['knowledge', 'shared_context', 'notes/a', 'projects/x/notes'];
    const children = files.map((f, i) => writer(repo.dir, 'append', `p${i}`, EACH, { WRITER_FILE: f }));
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0, 0, 0]);
    for (const [i, f] of files.entries()) {
      expect(await entries(repo.dir, `${f}.yaml`)).toEqual(Array.from({ length: EACH }, (_, n) => `p${i}-${n}`));
      expect(git(repo.dir, 'log', '--format=%H', `HEAD~${4 * EACH}..HEAD`, '--', `${f}.yaml`).trim().split('\n')).toHaveLength(EACH);
    }
    expect(commitCount(repo.dir)).toBe(before + 4 * EACH);
    const perCommit = git(repo.dir, 'log', `-${4 * EACH}`, '--format=%x00', '--name-only').split('\0').slice(1).map((c) => c.trim().split('\n').filter(Boolean).length);
    expect(perCommit.every((n) => n === 1)).toBe(true);
    assertRepoHealthy(repo.dir);
  });

  it('the lock excludes: a second writer gives up with exit 5 and writes nothing', async () => {
    const repo = await tempRepo();
    const holder = writer(repo.dir, 'hold', 'h', 0, { HOLD_MS: '2000' });
    while (!holder.stdout().includes('holding')) await new Promise((r) => setTimeout(r, 10));
    const head = headOid(repo.dir);
    const r = await cli(['set', 'knowledge', 'other', '1'], { dir: repo.dir, env: { GITSTATE_LOCK_TIMEOUT_MS: '300' } });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^gitstate: could not take the repository lock within 300 ms/);
    expect(headOid(repo.dir)).toBe(head);
    expect(await holder.exited).toBe(0);
    expect(parse(await readFile(join(repo.dir, 'knowledge.yaml'), 'utf8'))).toEqual({ held: true });
    assertRepoHealthy(repo.dir);
  });
});
