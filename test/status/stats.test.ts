/**
 * `stats` / memory_stats, checked against what native git and the disk say.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoStats } from '../../src/status/stats.js';
import { appendSessionLog } from '../../src/context/session-log.js';
import { cleanupTempDirs, cli, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';
import { ManualClock } from '../helpers/manual-clock.js';

afterAll(cleanupTempDirs);

describe('repoStats', () => {
  it('files and bytes per folder, commit counts by age, sessions, newest writes, conflicts, state.json and object health', async () => {
    const repo = await tempRepo();
    await repo.set('projects/backend/current_work', 'branch', 'main');
    await repo.set('learned/patterns', 'retry', 'backoff');
    await appendSessionLog(repo, { action: 'a' }, new ManualClock(Date.parse('2026-11-30T12:00:00')));
    await appendSessionLog(repo, { action: 'b' }, new ManualClock(Date.parse('2026-12-01T12:00:00')));
    await appendSessionLog(repo, { action: 'c' }, new ManualClock(Date.parse('2026-12-01T13:00:00')));
    // Two commits dated in the past by native git: one 3 days old, one 30 days old.
    const old = (days: number, key: string) => {
      const date = new Date(Date.now() - days * 86_400_000).toISOString();
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '--allow-empty', '-m', key], { cwd: repo.dir, env: { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date } });
    };
    old(30, 'thirty days ago');
    old(3, 'three days ago');
    await writeFile(join(repo.dir, '.gitstate-conflicts.tmp'), ''); // not a state file: not counted
    await repo.write('.gitstate/conflicts.yaml', 'conflicts:\n- {file: knowledge.yaml, key: a}\n- {file: knowledge.yaml, key: b}\n');
    const stats = await repoStats(repo, { fsck: true });

    expect(stats.head).toBe(headOid(repo.dir));
    expect(stats.commits.total).toBe(commitCount(repo.dir));
    expect(stats.commits.last7d).toBe(commitCount(repo.dir) - 1);
    expect(stats.commits.last24h).toBe(commitCount(repo.dir) - 2);
    const files = git(repo.dir, 'ls-files').trim().split('\n').filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.'));
    expect(stats.totals).toEqual({ files: files.length, bytes: files.reduce((n, f) => n + statSync(join(repo.dir, f)).size, 0) });
    expect(stats.folders.map((f) => f.folder)).toEqual(['.', 'learned', 'projects/backend', 'sessions']);
    expect(stats.folders.find((f) => f.folder === 'sessions')).toMatchObject({ files: 2 });
    expect(stats.sessions).toEqual({ days: 2, entries: 3, first: '2026-11-30', last: '2026-12-01' });
    expect(stats.newest[0]).toMatchObject({ commit: headOid(repo.dir), files: ['.gitstate/conflicts.yaml'] });
    expect(stats.newest.map((n) => n.commit)).toEqual(git(repo.dir, 'log', '-5', '--format=%H').trim().split('\n'));
    expect(stats.conflicts.pending).toBe(2);
    expect(stats.stateJson).toEqual({ ok: true });
    expect(stats.sync).toMatchObject({ remote: null, lastSync: null });
    const looseOnDisk = Number(/count: (\d+)/.exec(git(repo.dir, 'count-objects', '-v'))![1]);
    expect(stats.objects).toMatchObject({ loose: looseOnDisk, packs: 0, packBytes: 0 });
    expect(stats.fsck).toEqual({ ok: true, problems: [] });

    // Without fsck nothing runs git; a corrupt state.json is reported, not fatal.
    await writeFile(join(repo.dir, 'state.json'), '{broken');
    const quick = await repoStats(repo);
    expect(quick.fsck).toBeUndefined();
    expect(quick.stateJson).toMatchObject({ ok: false, error: expect.stringMatching(/state\.json is not valid JSON.*gitstate state reset/) });
  });

  it('gitstate stats prints it, --json as JSON; gc shows in the object counts', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const text = await cli(['stats'], { dir: repo.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^commits: {3}2 total, 2 in the last 24 h, 2 in the last 7 days$/m);
    expect((await cli(['gc'], { dir: repo.dir })).code).toBe(0);
    const json = JSON.parse((await cli(['stats', '--json'], { dir: repo.dir })).stdout);
    expect(json.objects).toMatchObject({ loose: 0, packs: 1 });
    expect(json.objects.packBytes).toBeGreaterThan(0);
  });
});
