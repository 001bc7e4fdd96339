/**
 * The CLI run in-process (src/cli/program.ts's `main`), for the large tables of
 * usage and not-found cases: a child process per case would cost ~200 ms each.
 * Spot checks in test/cli/errors.test.ts run the same cases through the built
 * binary and compare.
 */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/program.js';
import type { RunResult } from './repo.js';

/** `input` is what the command reads from standard input (none: an empty pipe). */
export async function runMain(args: string[], options: { dir?: string; env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const saved = { ...process.env };
  Object.assign(process.env, { GITSTATE_DIR: '', ...options.env });
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  Object.defineProperty(process, 'stdin', { configurable: true, value: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]) });
  process.exitCode = undefined;
  try {
    const code = await main([...(options.dir ? ['--dir', options.dir] : []), ...args]);
    return { code, stdout, stderr };
  } finally {
    Object.defineProperty(process, 'stdin', stdin);
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
