// A load-test writer: `node load-child.mjs DIR NAME OPS SEED [FILES]`. Mixed operations on
// shared files; prints one JSON line per acknowledged operation: {op, file, key, value, commit, ms}.
import { StateManager, StateRepo } from '../../dist/index.js';

const [dir, name, opsText, seedText, filesText] = process.argv.slice(2);
const files = (filesText || 'knowledge,shared_context,notes/load').split(',');
let seed = Number(seedText);
const rnd = () => ((seed = (seed * 1664525 + 1013904223) % 4294967296) / 4294967296);
const repo = await StateRepo.open(dir);
const state = await StateManager.open(dir, { debounceMs: 60_000, maxWaitMs: 60_000, flushOnExit: false });
const emit = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

for (let i = 0; i < Number(opsText); i++) {
  const file = files[Math.floor(rnd() * files.length)];
  const key = `shared.k${Math.floor(rnd() * 10)}`;
  const value = `${name}-${i}`;
  const roll = rnd();
  const t = performance.now();
  try {
    if (roll < 0.35) {
      const r = await repo.set(file, key, value);
      emit({ op: 'set', file, key, value, commit: r.commit, ms: performance.now() - t });
    } else if (roll < 0.65) {
      const r = await repo.append(file, 'log', value);
      emit({ op: 'append', file, value, commit: r.commit, ms: performance.now() - t });
    } else if (roll < 0.75) {
      const r = await repo.delete(file, key);
      emit({ op: 'delete', file, key, commit: r.commit, ms: performance.now() - t });
    } else if (roll < 0.9) {
      const other = files[(files.indexOf(file) + 1) % files.length];
      const r = await repo.transaction(async (tx) => {
        await tx.set(file, key, value);
        await tx.append(other, 'log', `${value}-tx`);
      });
      emit({ op: 'set', file, key, value, commit: r.commit, ms: performance.now() - t });
      emit({ op: 'append', file: other, value: `${value}-tx`, commit: r.commit, ms: 0 });
    } else {
      state.set(`procs.${name}`, i);
      const r = await state.flush();
      emit({ op: 'state', key: `procs.${name}`, value: i, commit: r?.commit, ms: performance.now() - t });
    }
  } catch (err) {
    if (err.code !== 'NOT_FOUND') throw err; // deleting a key another process already removed
  }
}
await state.close();
