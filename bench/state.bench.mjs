// StateManager: in-process set rate with read-your-writes, and the commits a continuous
// stream of sets produces over 10 s (debounce 500 ms, max wait 5 s).
import { join } from 'node:path';
import { StateManager, StateRepo } from '../dist/index.js';
import { git, table, tempDir } from './lib/util.mjs';

export const name = 'state';
const QUICK = process.env.BENCH_QUICK === '1';

export async function run() {
  const dir = (await StateRepo.init(join(tempDir(), 'state'))).dir;
  const state = await StateManager.open(dir, { debounceMs: 500, maxWaitMs: 5000, flushOnExit: false });

  // Set rate: each set is checked by a get (read-your-writes), over 1,000 distinct keys.
  const keys = Array.from({ length: 1000 }, (_, i) => `counters.c${i}`);
  const count = QUICK ? 200_000 : 2_000_000;
  let t = performance.now();
  for (let i = 0; i < count; i++) {
    const key = keys[i % 1000];
    state.set(key, i);
    if (state.get(key) !== i) throw new Error('read-your-writes broken');
  }
  const seconds = (performance.now() - t) / 1000;
  const rate = count / seconds;
  await state.flush();

  // A continuous stream: a set every event-loop turn for the whole window.
  const before = Number(git(dir, 'rev-list', '--count', 'HEAD'));
  const windowMs = QUICK ? 3000 : 10_000;
  t = performance.now();
  let sets = 0;
  while (performance.now() - t < windowMs) {
    for (let i = 0; i < 100; i++) state.set(`stream.s${sets++ % 100}`, sets);
    await new Promise((r) => setImmediate(r));
  }
  const commits = Number(git(dir, 'rev-list', '--count', 'HEAD')) - before;
  await state.close();
  const windows = windowMs / state.debounceMs;
  return [
    '### StateManager (state.json)',
    '',
    table(
      ['measure', 'result', 'target', ''],
      [
        ['set + get (read-your-writes), per second', Math.round(rate).toLocaleString('en-US'), '≥ 1,000,000', rate >= 1_000_000 ? 'PASS' : 'MISS'],
        [`commits from a continuous stream of ${sets.toLocaleString('en-US')} sets over ${windowMs / 1000} s`, String(commits), `≤ ${windows} (one per 500 ms window)`, commits <= windows ? 'PASS' : 'MISS'],
      ],
    ),
  ].join('\n');
}
