// A child process using a StateManager: `node state-child.mjs DIR MODE PREFIX COUNT`
//   burst:  sets PREFIX.i = i for i < COUNT, printing "ack i" after each, then waits (to be signalled)
//   exit:   sets COUNT keys then lets the event loop drain (normal exit, no explicit flush)
//   keys:   sets COUNT keys under PREFIX, closes, prints "done"
//   write-first: a YAML write first (the write path's modules load before the StateManager), then burst
import { StateManager, StateRepo } from '../../dist/index.js';

const [dir, mode, prefix, count] = process.argv.slice(2);
const n = Number(count);
if (mode === 'write-first') await (await StateRepo.open(dir)).set('knowledge', 'written_first', true);
const state = await StateManager.open(dir, { debounceMs: 60_000, maxWaitMs: 60_000 });
if (mode === 'burst' || mode === 'write-first') {
  for (let i = 0; i < n; i++) {
    state.set(`${prefix}.k${i}`, i);
    process.stdout.write(`ack ${i}\n`);
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  process.stdout.write('burst done\n');
  setInterval(() => {}, 1000); // stay alive until signalled
} else if (mode === 'exit') {
  for (let i = 0; i < n; i++) state.set(`${prefix}.k${i}`, i);
} else if (mode === 'keys') {
  for (let i = 0; i < n; i++) state.set(`${prefix}.k${i}`, i);
  await state.close();
  process.stdout.write('done\n');
}
