/** Spawning test/helpers/writer-child.mjs: a real writer process. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './repo.js';

const WRITER = join(ROOT, 'test/helpers/writer-child.mjs');

export function writer(dir: string, mode: string, name: string, count: number, env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(process.execPath, [WRITER, dir, mode, name, String(count)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, exited, stdout: () => stdout, stderr: () => stderr };
}
