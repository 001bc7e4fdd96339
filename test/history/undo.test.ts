/**
 * Undo and revert: undo never reverts the first commit, repeated undo steps
 * back through the other commits, subjects never nest. And the cosmetics of
 * log, show, blame and conflicts; relative --since dates.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { SEED_FILES } from '../../src/core/init.js';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDate } from '../../src/history/dates.js';
import { History } from '../../src/history/history.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';

afterAll(cleanupTempDirs);

const subjects = (dir: string, n: number) => git(dir, 'log', `-${n}`, '--format=%s').trim().split('\n');

describe('undo', () => {
  it('refuses the first commit: exit 4, a clear message, nothing written', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const r = await cli(['undo'], { dir: repo.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`gitstate: cannot undo ${head.slice(0, 7)} (init state repository): it is the repository's first commit, and undoing it would remove every file it made; nothing written\n`);
    expect(headOid(repo.dir)).toBe(head);
    const revert = await runMain(['revert', 'HEAD'], { dir: repo.dir });
    expect(revert.code).toBe(4);
    expect(revert.stderr).toMatch(/^gitstate: cannot revert [0-9a-f]{7} \(init state repository\): it is the repository's first commit/);
    assertRepoHealthy(repo.dir);
  });

  it('repeated undo steps back through the commits that are not undos, then stops at the first commit', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    await repo.set('knowledge', 'b', 2);
    await repo.set('knowledge', 'c', 3);
    const [c, b, a] = git(repo.dir, 'log', '-3', '--format=%h').trim().split('\n');
    const history = new History(repo);
    await history.undo();
    expect(await repo.get('knowledge')).toEqual({ a: 1, b: 2 });
    await history.undo();
    expect(await repo.get('knowledge')).toEqual({ a: 1 });
    await history.undo();
    expect(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8')).toBe(SEED_FILES['knowledge.yaml']); // its exact text, comment and all
    expect(subjects(repo.dir, 3)).toEqual([`revert ${a}: set knowledge.yaml a`, `revert ${b}: set knowledge.yaml b`, `revert ${c}: set knowledge.yaml c`]);
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('undo');
    expect(git(repo.dir, 'log', '-1', '--format=%b')).toContain(`This reverts commit ${git(repo.dir, 'rev-parse', a!).trim()}.`);
    const before = commitCount(repo.dir);
    const r = await runMain(['undo'], { dir: repo.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot undo [0-9a-f]{7} \(init state repository\): it is the repository's first commit/);
    expect(commitCount(repo.dir)).toBe(before);
    // a new write after undos is the next to undo
    await repo.set('knowledge', 'd', 4);
    await history.undo();
    expect(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8')).toBe(SEED_FILES['knowledge.yaml']);
    assertRepoHealthy(repo.dir);
  });

  it('an explicit revert is an ordinary commit: undo after it undoes it; reverting a revert never nests the subject', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const a = git(repo.dir, 'rev-parse', '--short=7', 'HEAD').trim();
    const history = new History(repo);
    await history.revert('HEAD');
    const r1 = git(repo.dir, 'rev-parse', '--short=7', 'HEAD').trim();
    expect(subjects(repo.dir, 1)).toEqual([`revert ${a}: set knowledge.yaml a`]);
    await history.undo();
    expect(await repo.get('knowledge', 'a')).toBe(1);
    expect(subjects(repo.dir, 1)).toEqual([`revert ${r1}: set knowledge.yaml a`]);
    await history.revert('HEAD');
    expect(subjects(repo.dir, 1)[0]).toMatch(/^revert [0-9a-f]{7}: set knowledge\.yaml a$/);
    const blame = await runMain(['blame', 'knowledge', 'a'], { dir: repo.dir });
    expect(blame.stdout).not.toMatch(/revert revert/);
    expect(blame.stdout).toMatch(/^[0-9a-f]{7} \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ revert [0-9a-f]{7}: set knowledge\.yaml a\n$/);
  });
});

describe('history output', () => {
  it('log and blame name the author of a native commit, not "Name <email>" or "- -"', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'x: 1\n');
    git(repo.dir, '-c', 'user.name=Ada Lovelace', '-c', 'user.email=ada@example.com', 'commit', '-qam', 'by hand', '--no-verify');
    const log = await runMain(['log', '-n', '1'], { dir: repo.dir });
    expect(log.stdout).toMatch(/^[0-9a-f]{7} \S+ \S+ Ada Lovelace by hand\n$/);
    const blame = await runMain(['blame', 'knowledge', 'x'], { dir: repo.dir });
    expect(blame.stdout).toMatch(/^[0-9a-f]{7} \S+ \S+ Ada Lovelace by hand\n$/);
  });

  it('show prints the subject once', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const r = await runMain(['show', 'HEAD'], { dir: repo.dir });
    expect(r.stdout.match(/set knowledge\.yaml a/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/^commit [0-9a-f]{40}\nAuthor: .*\nDate: {3}\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\n\n {4}set knowledge\.yaml a\n/);
    expect(r.stdout).toContain('+a: 1');
  });

  it('context lists the newest knowledge first', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'older', 1);
    await repo.set('knowledge', 'newer', 2);
    const r = await runMain(['context'], { dir: repo.dir });
    expect(r.stdout).toContain('## Knowledge (newest)\n- newer: 2\n- older: 1\n');
  });

  it('conflicts says when there are none', async () => {
    const repo = await tempRepo();
    expect((await runMain(['conflicts'], { dir: repo.dir })).stdout).toBe('no conflict records: no sync merge has had to pick between two values\n');
    expect((await runMain(['conflicts', '--json'], { dir: repo.dir })).stdout).toBe('[]\n');
  });

  it('log --since takes relative dates', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    for (const since of ['yesterday', '2 days ago', '1h', 'today']) {
      const r = await runMain(['log', '--since', since, '--json'], { dir: repo.dir });
      expect(JSON.parse(r.stdout), since).toHaveLength(2);
    }
    expect(JSON.parse((await runMain(['log', '--since', '2999-01-01', '--json'], { dir: repo.dir })).stdout)).toEqual([]);
  });
});

describe('parseDate', () => {
  const now = new Date(2026, 11, 2, 15, 30, 0); // local time
  it.each([
    ['now', now],
    ['today', new Date(2026, 11, 2)],
    ['yesterday', new Date(2026, 11, 1)],
    ['2 days ago', new Date(2026, 10, 30, 15, 30)],
    ['1 day ago', new Date(2026, 11, 1, 15, 30)],
    ['3 hours ago', new Date(2026, 11, 2, 12, 30)],
    ['90 minutes ago', new Date(2026, 11, 2, 14, 0)],
    ['1 week ago', new Date(2026, 10, 25, 15, 30)],
    ['2 months ago', new Date(2026, 9, 2, 15, 30)],
    ['1 year ago', new Date(2025, 11, 2, 15, 30)],
    ['1h', new Date(2026, 11, 2, 14, 30)],
    ['30m', new Date(2026, 11, 2, 15, 0)],
    ['2d', new Date(2026, 10, 30, 15, 30)],
    ['1w', new Date(2026, 10, 25, 15, 30)],
    ['45s', new Date(2026, 11, 2, 15, 29, 15)],
    ['2026-11-01', new Date(2026, 10, 1)],
    ['2026-11-01 14:30', new Date(2026, 10, 1, 14, 30)],
    ['2026-11-01T14:30:00Z', new Date(Date.UTC(2026, 10, 1, 14, 30))],
    ['  Yesterday ', new Date(2026, 11, 1)],
  ])('%s', (text, expected) => {
    expect(parseDate(text, '--since', now)).toEqual(expected);
  });

  it.each(['someday', '2 fortnights ago', '-1h', '2026-13-45', '1.5h', ''])('refuses %j, listing the forms it takes', (text) => {
    expect(() => parseDate(text, '--since', now)).toThrow(/^--since needs a date \(2026-11-01, 2026-11-01 14:30, ISO 8601\), now, today, yesterday, "N days ago"/);
  });
});
