/**
 * A time budget for the regular expressions of user schemas. V8's engine
 * backtracks: `^(a+)+$` on forty `a`s and a `!` runs for minutes, and while it
 * runs nothing else in the process does (not even a signal handler). So before
 * a schema with patterns checks a value, a worker thread tries every pattern
 * on every string and key of that value, compiled as zod compiles them
 * (`new RegExp(source)`). The same pattern on the same string costs the same
 * in the schema check after it, so a value that passes here checks quickly;
 * one that does not is refused, the worker is terminated (which stops a
 * running match), and the main thread stayed free to react to signals.
 *
 * One worker per process, started on first use and unref'd: it never keeps a
 * process alive.
 */
import { Worker } from 'node:worker_threads';
import { SchemaError } from '../errors.js';

export const DEFAULT_REGEX_BUDGET_MS = 2_000;

/** The worker: test each pattern on each string; the shared slot says which pattern is running. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, patterns, strings, slot }) => {
  const current = new Int32Array(slot);
  for (let i = 0; i < patterns.length; i++) {
    Atomics.store(current, 0, i);
    const re = new RegExp(patterns[i]);
    for (const s of strings) { re.lastIndex = 0; re.test(s); }
  }
  parentPort.postMessage({ id });
});
`;

let worker: Worker | null = null;
let nextId = 0;

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('error', () => {
      worker = null;
    });
  }
  return worker;
}

function budgetMs(): number {
  const raw = Number(process.env.GITSTATE_REGEX_BUDGET_MS);
  return Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_REGEX_BUDGET_MS;
}

/** Every string and map key in a value, once each. */
export function stringsOf(value: unknown): string[] {
  const out = new Set<string>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') out.add(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
      for (const key of Object.keys(v)) {
        out.add(key);
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return [...out];
}

/**
 * Resolve when every pattern runs on every string of `value` within the
 * budget; otherwise a SchemaError naming the schema, the pattern's position
 * and the file.
 */
export async function checkPatternBudget(patterns: readonly string[], value: unknown, where: { schema: string; file: string }): Promise<void> {
  if (patterns.length === 0) return;
  const strings = stringsOf(value);
  if (strings.length === 0) return;
  const limit = budgetMs();
  const slot = new SharedArrayBuffer(4);
  const current = new Int32Array(slot);
  const id = ++nextId;
  const w = getWorker();
  w.ref(); // waiting on it: keep the process alive until it answers or is stopped
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        const index = Atomics.load(current, 0);
        worker = null;
        void w.terminate();
        reject(
          new SchemaError(
            `${where.file}: pattern ${index + 1} of ${where.schema} took longer than ${limit} ms on this content (a pattern that backtracks, such as (a+)+); simplify it, or bound it with anchors and fixed repeats`,
            { file: where.file, schema: where.schema },
          ),
        );
      }, limit);
      const onMessage = (message: { id: number }) => {
        if (message.id !== id) return;
        cleanup();
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage({ id, patterns, strings, slot });
    });
  } finally {
    if (worker === w) w.unref();
  }
}
