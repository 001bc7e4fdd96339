import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateManager, StateCorruptError } from '../../src/state/manager.js';
import { resetState } from '../../src/state/commands.js';
import { SecretError } from '../../src/errors.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, ROOT, tempRepo } from '../helpers/repo.js';
import { itFull, sized } from '../helpers/tier.js';
import { ManualClock } from '../helpers/manual-clock.js';

afterAll(cleanupTempDirs);

const CHILD = join(ROOT, 'test/helpers/state-child.mjs');
/** Keys a signalled burst sets, and how many are acknowledged before the signal. */
const BURST = sized(4_000, 20_000, 'BURST_KEYS');
const SIGNAL_AFTER = Math.min(2_000, Math.floor(BURST / 4));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function diskState(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
}

describe('StateManager in memory', () => {
  it('reads its own writes synchronously, before any flush', async () => {
    const repo = await tempRepo();
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    state.set('sessions.s1.persona', 'developer');
    state.set('tools', ['git', 'jira']);
    expect(state.get('sessions.s1.persona')).toBe('developer');
    expect(state.get('tools[1]')).toBe('jira');
    state.delete('tools');
    expect(state.get('tools')).toBeUndefined();
    state.update((s) => {
      s.persona = 'reviewer';
    });
    expect(state.get()).toEqual({ sessions: { s1: { persona: 'developer' } }, persona: 'reviewer' });
    expect(state.pendingCount).toBe(3);
    await state.close();
    expect(await diskState(repo.dir)).toEqual({ sessions: { s1: { persona: 'developer' } }, persona: 'reviewer' });
  });

  it('10,000 sets in a tight loop make one commit', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    for (let i = 0; i < 10_000; i++) state.set(`counters.c${i % 100}`, i);
    await state.close();
    expect(commitCount(repo.dir)).toBe(before + 1);
    expect(((await diskState(repo.dir)).counters as Record<string, number>).c99).toBe(9999);
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('flush');
    assertRepoHealthy(repo.dir);
  });

  it('flushes after the quiet period, and within maxWait under a steady stream', async () => {
    // On a manual clock: the machine's speed decides nothing.
    const repo = await tempRepo();
    const clock = new ManualClock();
    const flushTimes: number[] = [];
    let wake: (() => void) | null = null;
    const flushed = () => new Promise<void>((r) => (wake = r));
    const state = await StateManager.open(repo.dir, { clock, debounceMs: 80, maxWaitMs: 250, flushOnExit: false, onFlush: () => (flushTimes.push(clock.now()), wake?.()) });
    const before = commitCount(repo.dir);
    state.set('a', 1);
    const first = flushed();
    expect(await clock.advanceToNext()).toBe(80); // the quiet period
    await first;
    expect(commitCount(repo.dir)).toBe(before + 1);
    // A change every 20 ms never leaves 80 ms of quiet: only maxWait can flush.
    const start = clock.now();
    let i = 0;
    while (clock.now() - start < 1200) {
      state.set('stream', i++);
      let left = 20;
      for (;;) {
        const due = await clock.nextSleep(); // a change is pending: its timer is set
        if (due > left) break;
        let didFlush = false;
        const flush = flushed().then(() => (didFlush = true));
        clock.advance(due);
        left -= due;
        // the timer either flushes (an event) or, the quiet period not being over, sleeps again
        await Promise.race([flush, clock.nextSleep()]);
        if (didFlush) break; // nothing pending now: no timer until the next change
      }
      clock.advance(left);
    }
    const stream = flushTimes.slice(1);
    expect(stream.length).toBeGreaterThanOrEqual(4);
    // each stream flush came a max wait after the first change it carried, never after 80 ms of quiet
    for (let k = 1; k < stream.length; k++) expect(stream[k]! - stream[k - 1]!).toBeGreaterThanOrEqual(250);
    expect(commitCount(repo.dir)).toBe(before + 1 + stream.length);
    await state.close();
    expect((await diskState(repo.dir)).stream).toBe(i - 1);
  });

  it('two managers changing different keys both keep their changes', async () => {
    const repo = await tempRepo();
    const a = await StateManager.open(repo.dir, { flushOnExit: false });
    const b = await StateManager.open(repo.dir, { flushOnExit: false });
    a.set('sessions.a.persona', 'dev');
    b.set('sessions.b.persona', 'ops');
    await a.flush();
    await b.flush();
    expect((await diskState(repo.dir)).sessions).toEqual({ a: { persona: 'dev' }, b: { persona: 'ops' } });
    expect(b.get('sessions.a.persona')).toBe('dev'); // b's memory took in a's flush
    await a.close();
    await b.close();
  });

  it('reload and watch pick up other processes\' flushes without losing local pending changes', async () => {
    const repo = await tempRepo();
    const watcher = await StateManager.open(repo.dir, { watch: true, flushOnExit: false, debounceMs: 60_000, maxWaitMs: 60_000 });
    watcher.set('local', 'pending');
    const other = await StateManager.open(repo.dir, { flushOnExit: false });
    other.set('remote', 'flushed');
    await other.close();
    // the watch fires when the file system tells it; a deadline only stops a test that would hang
    for (let i = 0; i < 1000 && watcher.get('remote') === undefined; i++) await sleep(20);
    expect(watcher.get('remote')).toBe('flushed');
    expect(watcher.get('local')).toBe('pending');
    await watcher.close();
    expect(await diskState(repo.dir)).toEqual({ remote: 'flushed', local: 'pending' });
  });

  it('a secret is refused by set itself: nothing pending, nothing committed', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    expect(() => state.set('tools_config.api_key', 'sk-live-1234567890')).toThrow(SecretError);
    expect(() => state.set('tools_config', { api_key: 'sk-live-1234567890' })).toThrow(/tools_config\.api_key: looks like a secret/);
    expect(state.pendingCount).toBe(0);
    expect(state.get('tools_config')).toBeUndefined();
    await state.close();
    expect(headOid(repo.dir)).toBe(head);
  });
});

describe('corrupt state.json', () => {
  it('is a clear error on open, never overwritten; state reset moves it aside in a commit', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'state.json'), '{"sessions": oops');
    await expect(StateManager.open(repo.dir)).rejects.toThrow(StateCorruptError);
    await expect(StateManager.open(repo.dir)).rejects.toThrow(/state\.json is not valid JSON.*gitstate state reset/);
    expect(await readFile(join(repo.dir, 'state.json'), 'utf8')).toBe('{"sessions": oops');
    const cliGet = await cli(['state', 'get'], { dir: repo.dir });
    expect(cliGet.code).toBe(3);
    const result = await resetState(repo, new Date('2026-11-24T10:00:00Z'));
    expect(result.aside).toBe('.gitstate/aside/state.json.2026-11-24T10-00-00-000Z');
    expect(git(repo.dir, 'show', `HEAD:${result.aside}`)).toBe('{"sessions": oops');
    expect(await diskState(repo.dir)).toEqual({});
    assertRepoHealthy(repo.dir);
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    expect(state.get()).toEqual({});
    await state.close();
  });

  it('a state.json off its schema is refused too', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'state.json'), '{"tools": "git"}');
    await expect(StateManager.open(repo.dir)).rejects.toThrow(/state\.json: tools: expected array/);
  });
});

describe('nothing acknowledged is lost on a graceful stop (real child processes)', () => {
  function child(dir: string, mode: string, prefix: string, count: number) {
    const proc = spawn(process.execPath, [CHILD, dir, mode, prefix, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
    return { proc, exited, out: () => out, err: () => err };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    (signal === 'SIGTERM' ? it : itFull)(`${signal} mid-burst flushes every acknowledged set, then the process dies by ${signal}`, async () => {
      const repo = await tempRepo();
      const c = child(repo.dir, 'burst', 'burst', BURST);
      // Signal while the burst is still going.
      const mark = new RegExp(`ack ${SIGNAL_AFTER}\n`);
      while (!mark.test(c.out())) await sleep(5);
      c.proc.kill(signal);
      const { signal: died } = await c.exited;
      expect(died).toBe(signal);
      const acked = [...c.out().matchAll(/ack (\d+)/g)].map((m) => Number(m[1]));
      const burst = (await diskState(repo.dir)).burst as Record<string, number>;
      for (const i of acked) expect(burst[`k${i}`]).toBe(i);
      expect(acked.length).toBeGreaterThan(SIGNAL_AFTER);
      assertRepoHealthy(repo.dir);
    });
  }

  it('after a YAML write made before the StateManager opened, SIGTERM still flushes and then ends the process', async () => {
    const repo = await tempRepo();
    const c = child(repo.dir, 'write-first', 'after', 20);
    while (!c.out().includes('burst done')) await sleep(5);
    c.proc.kill('SIGTERM');
    expect((await c.exited).signal).toBe('SIGTERM');
    expect(Object.keys((await diskState(repo.dir)).after as object)).toHaveLength(20);
    assertRepoHealthy(repo.dir);
  });

  it('normal exit (the event loop drains) flushes', async () => {
    const repo = await tempRepo();
    const c = child(repo.dir, 'exit', 'quiet', 50);
    expect((await c.exited).code).toBe(0);
    expect(Object.keys((await diskState(repo.dir)).quiet as object)).toHaveLength(50);
  });

  itFull('four processes on different keys: every key survives', async () => {
    const repo = await tempRepo();
    const children = ['p0', 'p1', 'p2', 'p3'].map((p) => child(repo.dir, 'keys', p, 200));
    const results = await Promise.all(children.map((c) => c.exited));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const disk = await diskState(repo.dir);
    for (const p of ['p0', 'p1', 'p2', 'p3']) expect(Object.keys(disk[p] as object)).toHaveLength(200);
    assertRepoHealthy(repo.dir);
  });
});

describe('CLI', () => {
  it('state get/set/delete go through the StateManager, one commit each', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    expect((await cli(['state', 'set', 'sessions.s1.persona', 'developer'], { dir: repo.dir })).code).toBe(0);
    expect((await cli(['state', 'get', 'sessions.s1', '--json'], { dir: repo.dir })).stdout.trim()).toBe('{"persona":"developer"}');
    expect((await cli(['state', 'delete', 'sessions.s1'], { dir: repo.dir })).code).toBe(0);
    expect(commitCount(repo.dir)).toBe(before + 2);
    const secret = await cli(['state', 'set', 'github_token', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'], { dir: repo.dir });
    expect(secret.code).toBe(3);
    expect(secret.stderr).not.toContain('ghp_0123');
    expect(commitCount(repo.dir)).toBe(before + 2);
  });

  it('flush commits a state.json another tool wrote, if valid', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'state.json'), '{"persona": "ops"}\n');
    const r = await cli(['flush', '--json'], { dir: repo.dir });
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: true, files: ['state.json'] });
    expect(git(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('flush state.json');
    assertRepoHealthy(repo.dir);
    const again = await cli(['flush', '--json'], { dir: repo.dir });
    expect(JSON.parse(again.stdout).changed).toBe(false);
  });
});
