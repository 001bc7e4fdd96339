/**
 * Properties of the StateManager's checks, over random operation sequences
 * (seeded: a failure prints its seed, STATE_PROPERTY_SEED replays it):
 * a refused change leaves memory exactly as it was and pending as it was;
 * an accepted one matches a plain model; what is flushed is what memory shows.
 */
import { describe, expect, it } from 'vitest';
import { StateManager } from '../../src/state/manager.js';
import { commitSubject } from '../../src/context/session-log.js';
import { cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';
import { afterAll } from 'vitest';

afterAll(cleanupTempDirs);

function random(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) % 4294967296;
    return seed / 4294967296;
  };
}

const KEYS = ['persona', 'tools', 'tools[0]', 'sessions', 'sessions.s1', 'sessions.s1.persona', 'sessions.s2.started', 'current_project', 'misc', 'misc.a', 'misc.a.b', 'misc.list[0]', 'misc.list', 'api_key', 'misc.token'];
const VALUES: unknown[] = ['dev', 'x y', 42, null, true, ['git'], ['git', 3], { persona: 'ops' }, { a: 1 }, '2026-12-01T10:00:00Z', 'not-a-date', 'a/b', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', [], {}];

describe('StateManager checks (property)', () => {
  it('random set/delete/update sequences: refusals change nothing, acceptances match the model, the flush commits memory', async () => {
    const seed = Number(process.env.STATE_PROPERTY_SEED ?? Date.now() % 100000);
    const rnd = random(seed);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
    const repo = await tempRepo();
    const state = await StateManager.open(repo.dir, { flushOnExit: false, debounceMs: 60_000, maxWaitMs: 60_000 });
    let accepted = 0;
    let refused = 0;
    for (let step = 0; step < 400; step++) {
      const before = JSON.stringify(state.get());
      const pendingBefore = state.pendingCount;
      const op = rnd();
      const key = pick(KEYS);
      const value = pick(VALUES);
      try {
        if (op < 0.6) state.set(key, value);
        else if (op < 0.85) state.delete(key);
        else state.update((d) => ({ ...d, [key.split(/[.[]/)[0]!]: value as never }));
        accepted++;
      } catch {
        refused++;
        expect(JSON.stringify(state.get()), `seed ${seed} step ${step}: a refused ${key} changed memory`).toBe(before);
        expect(state.pendingCount, `seed ${seed} step ${step}`).toBe(pendingBefore);
      }
      if (step % 100 === 99) {
        await state.flush();
        expect(JSON.parse(git(repo.dir, 'show', 'HEAD:state.json')), `seed ${seed} step ${step}: committed = memory`).toEqual(state.get());
      }
    }
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(20);
    await state.close();
  });
});

describe('commitSubject (property)', () => {
  it('any text becomes one line of at most 72 characters with no control characters', () => {
    const seed = Number(process.env.STATE_PROPERTY_SEED ?? Date.now() % 100000);
    const rnd = random(seed);
    const alphabet = ['a', 'Z', ' ', '\n', '\r', '\t', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', 'é', '😀', '-', ':'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: Math.floor(rnd() * 120) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
      const subject = commitSubject(text);
      expect([...subject].length, `seed ${seed}: ${JSON.stringify(text)}`).toBeLessThanOrEqual(72);
      expect(/[\p{Cc}\u2028\u2029]/u.test(subject), `seed ${seed}: ${JSON.stringify(text)}`).toBe(false);
      expect(subject, `seed ${seed}`).toBe(subject.trim());
    }
  });
});
