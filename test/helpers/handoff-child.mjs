// A writer process for the handoff tests: `node handoff-child.mjs DIR OPS`, OPS a JSON list of
// operations made one after another: {op: 'set' | 'append' | 'delete', file, key, value} through
// StateRepo; {op: 'tx', ops: [...]}, those operations as one transaction; {op: 'slow', ms, file, key,
// value}, a set in a transaction that first waits `ms` (holding the lock); {op: 'incr', file, key},
// a transaction that reads the count with repo.get and sets it one higher; {op: 'cli', args, stdin},
// the gitstate CLI run on the repo (prints {exit, stdout, stderr}); or {op: 'state', key,
// value} set and flushed through a StateManager. Prints one JSON line per operation: {result} or
// {error: {name, code, message}} (for 'tx' with `at`, the index of the operation the transaction
// was at); for 'state', {result, memory} (the manager's whole data after its flush).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StateManager, StateRepo } from '../../dist/index.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const [dir, opsText] = process.argv.slice(2);
const repo = await StateRepo.open(dir);
let state = null;
for (const op of JSON.parse(opsText)) {
  let at = null;
  try {
    if (op.op === 'state') {
      state ??= await StateManager.open(dir, { debounceMs: 60_000, maxWaitMs: 60_000, flushOnExit: false });
      state.set(op.key, op.value);
      const result = await state.flush();
      console.log(JSON.stringify({ result, memory: state.get() }));
    } else if (op.op === 'slow') {
      const result = await repo.transaction(async (tx) => {
        await new Promise((r) => setTimeout(r, op.ms));
        await tx.set(op.file, op.key, op.value);
      });
      console.log(JSON.stringify({ result }));
    } else if (op.op === 'incr') {
      const result = await repo.transaction(async (tx) => {
        const n = await repo.get(op.file, op.key).catch(() => 0);
        await tx.set(op.file, op.key, n + 1);
      });
      console.log(JSON.stringify({ result }));
    } else if (op.op === 'cli') {
      const run = spawnSync(process.execPath, [CLI, '--dir', dir, ...op.args], { input: op.stdin ?? '', encoding: 'utf8', env: process.env });
      console.log(JSON.stringify({ exit: run.status, stdout: run.stdout, stderr: run.stderr }));
    } else if (op.op === 'tx') {
      const result = await repo.transaction(async (tx) => {
        for (const [i, o] of op.ops.entries()) {
          at = i;
          await (o.op === 'delete' ? tx.delete(o.file, o.key) : tx[o.op](o.file, o.key, o.value));
        }
      });
      console.log(JSON.stringify({ result }));
    } else {
      const result = op.op === 'delete' ? await repo.delete(op.file, op.key) : await repo[op.op](op.file, op.key, op.value);
      console.log(JSON.stringify({ result }));
    }
  } catch (err) {
    console.log(JSON.stringify({ error: { name: err.name, code: err.code, message: err.message }, ...(at === null ? {} : { at }) }));
  }
}
await state?.close();
