/**
 * One bad value cannot poison state.json: checks at set time, a failing flush
 * that backs off and keeps every change, a close that writes pending changes
 * aside, and `state reset` that always leaves a usable state.json.
 * Faults are real (git's own index.lock held, as a running native git would);
 * time is a ManualClock, so nothing depends on the machine's speed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateFlushError, StateManager } from '../../src/state/manager.js';
import { resetState } from '../../src/state/commands.js';
import { LockError, OperationError, SchemaError, SecretError, SizeError } from '../../src/errors.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, ROOT, tempRepo } from '../helpers/repo.js';
import { ManualClock } from '../helpers/manual-clock.js';

afterAll(cleanupTempDirs);

const indexLock = (dir: string) => join(dir, '.git', 'index.lock');
const committedState = (dir: string) => JSON.parse(git(dir, 'show', 'HEAD:state.json')) as Record<string, unknown>;

/** A manager on a manual clock whose background errors and flushes are events the test can wait for. */
async function managed(dir: string, options: { debounceMs?: number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const flushes: unknown[] = [];
  let wake: (() => void) | null = null;
  const next = () => new Promise<void>((r) => (wake = r));
  const state = await StateManager.open(dir, {
    clock,
    timeoutMs: 0, // a held git lock fails the flush at once
    debounceMs: options.debounceMs ?? 100,
    maxWaitMs: options.maxWaitMs ?? 1_000,
    flushOnExit: false,
    onError: (err) => {
      errors.push(err);
      wake?.();
    },
    onFlush: (result) => {
      flushes.push(result);
      wake?.();
    },
  });
  return { state, clock, errors, flushes, next };
}

describe('set, update and delete check at once', () => {
  it('a value off the schema, a secret, an oversize or non-JSON value throws, and nothing becomes pending', async () => {
    const repo = await tempRepo();
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    state.set('sessions.s1.persona', 'developer');
    state.set('persona', 'ops');
    const before = structuredClone(state.get()) as Record<string, unknown>;
    expect(() => state.set('sessions', 'x')).toThrow(SchemaError);
    expect(() => state.set('sessions', 'x')).toThrow(/state\.json: sessions: expected record/);
    expect(() => state.set('sessions.s1', 'x')).toThrow(/sessions\.s1: expected object/);
    expect(() => state.set('tools', 'git')).toThrow(/tools: expected array/);
    expect(() => state.set('current_project', 'a/b')).toThrow(/current_project: expected a project name/);
    expect(() => state.set('github_token', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB')).toThrow(SecretError);
    expect(() => state.set('big', 'x'.repeat(300_000))).toThrow(SizeError);
    expect(() => state.set('n', 10n)).toThrow(OperationError);
    expect(() => state.set('n', { deep: [Infinity] })).toThrow(/holds Infinity, which cannot be stored/);
    expect(() => state.set('n', { f: () => 1 })).toThrow(/holds a function, which JSON cannot store/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => state.set('c', cyclic)).toThrow(/cannot be stored as JSON/);
    expect(() => state.set('deep.x[0]', 1)).toThrow(/is a map/); // setAt would have made deep.x on its way
    expect(() => state.update((d) => ({ ...d, persona: 'ok', tools: 'git' as never }))).toThrow(/tools: expected array/);
    expect(() => state.delete('persona')).not.toThrow();
    expect(() => state.update((d) => ({ ...d, sessions: 3 as never }))).toThrow(SchemaError);
    // Memory is exactly as before the refused changes (the delete went through).
    delete before.persona;
    expect(state.get()).toEqual(before);
    expect(state.pendingCount).toBe(2);
    await state.close();
    expect(committedState(repo.dir)).toEqual({ sessions: { s1: { persona: 'developer' } } });
    assertRepoHealthy(repo.dir);
  });

  it('an update is all or nothing, and what is set is what is stored (a JSON copy)', async () => {
    const repo = await tempRepo();
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    const value = { when: new Date('2026-12-01T10:00:00Z'), list: [1, undefined, 3] };
    state.set('job', value);
    value.list.push(4); // the caller's object is not shared
    expect(state.get('job')).toEqual({ when: '2026-12-01T10:00:00.000Z', list: [1, null, 3] });
    expect(() => state.update((d) => ({ ...d, a: 1, sessions: 'bad' as never }))).toThrow(SchemaError);
    expect(state.get('a')).toBeUndefined();
    await state.close();
    expect(committedState(repo.dir)).toEqual({ job: { when: '2026-12-01T10:00:00.000Z', list: [1, null, 3] } });
  });

  it('the CLI and its exit codes: state set of a bad value is exit 3 with nothing committed', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const r = await cli(['state', 'set', 'sessions', 'x'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/state\.json: sessions: expected record/);
    expect(commitCount(repo.dir)).toBe(before);
    expect((await cli(['state', 'set', 'persona', 'ops'], { dir: repo.dir })).code).toBe(0);
    expect(commitCount(repo.dir)).toBe(before + 1);
  });
});

describe('a change that no longer fits what another process flushed', () => {
  it('never fails the flush: this process\'s whole value of that top-level key is taken, the other stays in history', async () => {
    const repo = await tempRepo();
    const a = await StateManager.open(repo.dir, { flushOnExit: false });
    const b = await StateManager.open(repo.dir, { flushOnExit: false });
    a.set('misc.a.b', 1);
    a.set('tools', ['git', 'jira']);
    a.set('tools[1]', 'jira-cli');
    b.set('misc', 'a string now');
    b.set('tools', []);
    b.set('other', 'kept');
    await b.flush();
    await a.flush();
    expect(committedState(repo.dir)).toEqual({ misc: { a: { b: 1 } }, tools: ['git', 'jira-cli'], other: 'kept' });
    expect(a.get()).toEqual(committedState(repo.dir));
    expect(git(repo.dir, 'show', 'HEAD~1:state.json')).toContain('a string now');
    await a.close();
    await b.close();
  });
});

describe('a failing flush', () => {
  it('backs off exponentially up to its cap, and 1,000 sets made meanwhile are all committed once the fault is gone', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const { state, clock, errors, flushes, next } = await managed(repo.dir);
    writeFileSync(indexLock(repo.dir), ''); // native git holds the index
    state.set('first', 0);
    expect(await clock.advanceToNext()).toBe(100); // the quiet period
    await next();
    expect(errors[0]).toBeInstanceOf(LockError);
    for (let i = 0; i < 1_000; i++) state.set(`burst.k${i}`, i);
    expect(state.pendingCount).toBe(1_001);
    // While the fault lasts: retries after 250, 500, 1000, 2000, 4000, 4000 ms, each failing, nothing lost.
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      waits.push(await clock.advanceToNext());
      await next();
    }
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 4000]);
    expect(errors).toHaveLength(7);
    expect(state.pendingCount).toBe(1_001);
    expect(commitCount(repo.dir)).toBe(before);
    // The fault goes; the next retry commits everything, in one commit.
    rmSync(indexLock(repo.dir));
    expect(await clock.advanceToNext()).toBe(4000);
    await next();
    expect(flushes).toHaveLength(1);
    expect(state.pendingCount).toBe(0);
    expect(commitCount(repo.dir)).toBe(before + 1);
    const committed = committedState(repo.dir);
    expect(committed.first).toBe(0);
    expect(Object.keys(committed.burst as object)).toHaveLength(1_000);
    for (let i = 0; i < 1_000; i++) expect((committed.burst as Record<string, number>)[`k${i}`]).toBe(i);
    await state.close();
    assertRepoHealthy(repo.dir);
  });

  it('a success resets the backoff: the next change flushes after the quiet period again', async () => {
    const repo = await tempRepo();
    const { state, clock, next } = await managed(repo.dir);
    writeFileSync(indexLock(repo.dir), '');
    state.set('a', 1);
    await clock.advanceToNext();
    await next();
    rmSync(indexLock(repo.dir));
    expect(await clock.advanceToNext()).toBe(250);
    await next();
    state.set('b', 2);
    expect(await clock.advanceToNext()).toBe(100);
    await next();
    expect(committedState(repo.dir)).toEqual({ a: 1, b: 2 });
    await state.close();
  });

  it('on close, the failure is reported and the pending changes are written to .gitstate/aside/', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const { state } = await managed(repo.dir);
    state.set('sessions.s1.persona', 'developer');
    state.set('tools', ['git']);
    state.delete('tools');
    writeFileSync(indexLock(repo.dir), '');
    const err = await state.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateFlushError);
    expect((err as StateFlushError).exitCode).toBe(5); // the cause's: a lock not acquired
    const aside = (err as StateFlushError).data.aside as string;
    expect((err as Error).message).toContain(aside);
    expect((err as Error).message).toMatch(/2 pending change\(s\) could not be committed \(.*index\.lock exists/);
    const record = JSON.parse(readFileSync(join(repo.dir, aside), 'utf8'));
    expect(record.changes).toEqual([
      { key: 'sessions.s1.persona', value: 'developer' },
      { key: 'tools', deleted: true },
    ]);
    expect(headOid(repo.dir)).toBe(head);
    rmSync(indexLock(repo.dir));
  });

  it('a process stopped by SIGTERM while the flush fails writes its changes aside and says so', async () => {
    const repo = await tempRepo();
    writeFileSync(indexLock(repo.dir), '');
    const child = spawn(process.execPath, [join(ROOT, 'test/helpers/state-child.mjs'), repo.dir, 'burst', 'lost', '20'], {
      env: { ...process.env, GITSTATE_LOCK_TIMEOUT_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    await new Promise<void>((r) => child.stdout.on('data', () => out.includes('burst done') && r()));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(err).toMatch(/state\.json flush on exit failed: state\.json: 20 pending change\(s\) could not be committed .* written to \.gitstate\/aside\//);
    const [file] = readdirSync(join(repo.dir, '.gitstate', 'aside'));
    const record = JSON.parse(readFileSync(join(repo.dir, '.gitstate', 'aside', file!), 'utf8'));
    expect(record.changes).toHaveLength(20);
    expect(record.changes[19]).toEqual({ key: 'lost.k19', value: 19 });
    rmSync(indexLock(repo.dir));
  });
});

describe('state reset', () => {
  it('leaves a state.json that parses even when HEAD already had {} (no loop)', async () => {
    const repo = await tempRepo();
    await resetState(repo, new Date('2026-12-01T10:00:00Z')); // HEAD: {}
    writeFileSync(join(repo.dir, 'state.json'), '{broken');
    expect((await cli(['state', 'get'], { dir: repo.dir })).stderr).toMatch(/state\.json is not valid JSON.*gitstate state reset/);
    const reset = await cli(['state', 'reset'], { dir: repo.dir });
    expect(reset.code).toBe(0);
    expect(reset.stderr).toMatch(/previous state\.json kept in \.gitstate\/aside\/state\.json\./);
    expect(readFileSync(join(repo.dir, 'state.json'), 'utf8')).toBe('{}\n');
    const get = await cli(['state', 'get', '--json'], { dir: repo.dir });
    expect(get).toMatchObject({ code: 0, stdout: '{}\n' });
    const aside = reset.stderr.match(/(\.gitstate\/aside\/\S+)/)![1]!;
    expect(git(repo.dir, 'show', `HEAD:${aside}`)).toBe('{broken');
    assertRepoHealthy(repo.dir);
  });

  it('works whatever was committed: a broken state.json committed by native git', async () => {
    const repo = await tempRepo();
    writeFileSync(join(repo.dir, 'state.json'), '{"tools": "git"}');
    git(repo.dir, 'add', 'state.json');
    git(repo.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qm', 'broken state by hand');
    expect((await cli(['state', 'reset'], { dir: repo.dir })).code).toBe(0);
    expect((await cli(['state', 'get', '--json'], { dir: repo.dir })).stdout).toBe('{}\n');
    expect(existsSync(join(repo.dir, '.gitstate', 'aside'))).toBe(true);
    assertRepoHealthy(repo.dir);
  });
});
