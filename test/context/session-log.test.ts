/**
 * The session log: the local date and time of one clock reading (TZ honoured),
 * details left out when empty, a one-line commit subject, and types that read
 * back the same in PyYAML (the original's own reader).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendSessionLog, commitSubject, localDateTime } from '../../src/context/session-log.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';
import { ManualClock } from '../helpers/manual-clock.js';

afterAll(cleanupTempDirs);

let savedTz: string | undefined;
beforeEach(() => {
  savedTz = process.env.TZ;
});
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** PyYAML's reading of a file: each entry's field types and values (python3 with PyYAML must be installed). */
function pyyaml(path: string): unknown {
  const script = 'import json,sys,yaml\nd=yaml.safe_load(open(sys.argv[1]))\nprint(json.dumps({"date":[type(d["date"]).__name__,str(d["date"])],"entries":[{k:[type(v).__name__,str(v)] for k,v in e.items()} for e in d["entries"]]}))';
  try {
    return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
  } catch (err) {
    throw new Error(`PyYAML check needs python3 with PyYAML (apt-get install python3-yaml): ${(err as Error).message}`);
  }
}

describe('session log', () => {
  it('20:38 on Dec 1 in Los Angeles goes into Dec 1, at 20:38 (the UTC date is Dec 2)', async () => {
    process.env.TZ = 'America/Los_Angeles';
    const repo = await tempRepo();
    const clock = new ManualClock(Date.parse('2026-12-02T04:38:05Z'));
    const r = await appendSessionLog(repo, { action: 'standup' }, clock);
    expect(r.file).toBe('sessions/2026-12-01.yaml');
    expect(r.entry).toEqual({ time: '20:38:05', action: 'standup' });
    expect(await repo.get(r.file)).toEqual({ date: '2026-12-01', entries: [{ time: '20:38:05', action: 'standup' }] });
    expect(git(repo.dir, 'show', `HEAD:${r.file}`)).not.toContain('details');
    clock.advance(60_000);
    await appendSessionLog(repo, { action: 'review', details: 'MR !12' }, clock);
    expect(await repo.get(r.file, 'entries[1]')).toEqual({ time: '20:39:05', action: 'review', details: 'MR !12' });
    assertRepoHealthy(repo.dir);
  });

  it('the same instant in Tokyo is Dec 2 at 13:38', () => {
    process.env.TZ = 'Asia/Tokyo';
    expect(localDateTime(new Date('2026-12-02T04:38:05Z'))).toEqual({ date: '2026-12-02', time: '13:38:05' });
  });

  it('the commit subject is one line: newlines and control characters folded, cut to 72 characters', async () => {
    const repo = await tempRepo();
    await appendSessionLog(repo, { action: 'fixed\nthe\r\nbuild\t\u0007\u001b[31m red\u2028done' }, new ManualClock(Date.parse('2026-12-01T10:00:00Z')));
    const message = git(repo.dir, 'log', '-1', '--format=%B');
    const [first, second] = message.split('\n');
    expect(first).toMatch(/^session log 2026-12-0\d: fixed the build \[31m red done$/);
    expect(second).toBe('');
    expect(commitSubject(`x${'y'.repeat(200)}`)).toHaveLength(72);
    expect(commitSubject(`x${'y'.repeat(200)}`).endsWith('…')).toBe(true);
  });

  // The quoting is the YAML writer's (issue 12: strings a YAML 1.1 reader would retype are quoted).
  it('PyYAML reads time and date back as strings, as the original wrote them', async () => {
    process.env.TZ = 'UTC';
    const repo = await tempRepo();
    const r = await appendSessionLog(repo, { action: 'on', details: 'yes' }, new ManualClock(Date.parse('2026-12-01T20:38:05Z')));
    expect(pyyaml(join(repo.dir, r.file))).toEqual({
      date: ['str', '2026-12-01'],
      entries: [{ time: ['str', '20:38:05'], action: ['str', 'on'], details: ['str', 'yes'] }],
    });
  });
});
