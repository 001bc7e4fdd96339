// A writer process for concurrency and crash tests: `node writer-child.mjs DIR MODE NAME COUNT`
//   append: COUNT appends of "NAME-i" to the list `entries` of FILE (env WRITER_FILE, default knowledge)
//   mixed:  a loop of set / append / transaction / state.json flush on two files, forever;
//           prints "ack <commit>" after each acknowledged write
//   group:  a set of notes/first, then sets of knowledge and shared_context queued behind it (a group)
//   hold:   takes the lock in a transaction and sleeps HOLD_MS (default 1500) inside it
//   loop:   sets back to back until the file STOP_FILE exists; prints "looping" after the
//           first write and "wrote N" at the end
import { existsSync } from 'node:fs';
import { StateManager, StateRepo } from '../../dist/index.js';

const [dir, mode, name, count] = process.argv.slice(2);
const repo = await StateRepo.open(dir);
const file = process.env.WRITER_FILE || 'knowledge';

if (mode === 'append') {
  for (let i = 0; i < Number(count); i++) await repo.append(file, 'entries', `${name}-${i}`);
} else if (mode === 'mixed') {
  const state = await StateManager.open(dir, { debounceMs: 10, maxWaitMs: 20, flushOnExit: false });
  for (let i = 0; ; i++) {
    let result;
    switch (i % 4) {
      case 0: result = await repo.set('knowledge', `k${i % 7}`, i); break;
      case 1: result = await repo.append('shared_context', 'log', `${name}-${i}`); break;
      case 2: result = await repo.transaction(async (tx) => { await tx.set('knowledge', 'tx', i); await tx.append('shared_context', 'log', `tx-${i}`); }); break;
      default: state.set(`sessions.${name}.n`, i); result = await state.flush(); break;
    }
    if (result?.changed) process.stdout.write(`ack ${result.commit}\n`);
  }
} else if (mode === 'one') {
  // One transaction on two files (killed on purpose by GITSTATE_CRASH_AT somewhere in it).
  const result = await repo.transaction(async (tx) => {
    await tx.set('knowledge', 'step', name);
    await tx.set('shared_context', 'step', name);
  });
  process.stdout.write(`ack ${result.commit}\n`);
} else if (mode === 'group') {
  // One write, and two more queued while it publishes: they are published together, as a group (a pack).
  const results = await Promise.all([repo.set('notes/first', 'step', name), repo.set('knowledge', 'step', name), repo.set('shared_context', 'step', name)]);
  process.stdout.write(`ack ${results.at(-1).commit}\n`);
} else if (mode === 'loop') {
  let n = 0;
  for (; !existsSync(process.env.STOP_FILE); n++) {
    await repo.set(file, 'loop', n);
    if (n === 0) process.stdout.write('looping\n');
  }
  process.stdout.write(`wrote ${n}\n`);
} else if (mode === 'hold') {
  await repo.transaction(async (tx) => {
    process.stdout.write('holding\n');
    await tx.set('knowledge', 'held', true);
    await new Promise((r) => setTimeout(r, Number(process.env.HOLD_MS || 1500)));
  });
  process.stdout.write('released\n');
}
