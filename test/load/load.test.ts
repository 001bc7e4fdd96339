/**
 * Load: several processes × mixed operations (set, append, delete, atomic batches,
 * StateManager flushes) on shared files. The final state must equal a replay of
 * the commit log — for every key, the value of the newest commit that wrote it;
 * every append present once — with fsck clean. Throughput and latency are printed;
 * the contention targets are measured by `npm run bench -- contention`.
 * LOAD_PROCS / LOAD_OPS override its size (npm test: 4 × 40; npm run test:full: 8 × 500).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, ROOT, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';
import { replayProblems } from '../helpers/replay.mjs';

afterAll(cleanupTempDirs);

const PROCS = sized(2, 8, 'LOAD_PROCS');
const OPS = sized(20, 500, 'LOAD_OPS');
const CHILD = join(ROOT, 'test/helpers/load-child.mjs');

interface Record {
  op: 'set' | 'append' | 'delete' | 'state';
  file?: string;
  key?: string;
  value?: unknown;
  commit: string;
  ms: number;
}

function runChild(dir: string, name: string, ops: number, seed: number, files?: string): Promise<Record[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, name, String(ops), String(seed), ...(files ? [files] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record)) : reject(new Error(`${name} exited ${code}: ${err}`))));
  });
}

async function load(procs: number, ops: number, files?: string) {
  const repo = await tempRepo();
  const t = Date.now();
  const results = await Promise.all(Array.from({ length: procs }, (_, p) => runChild(repo.dir, `p${p}`, ops, 1000 + p, files)));
  return { repo, records: results.flat(), seconds: (Date.now() - t) / 1000, perProcess: results };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

describe('load', () => {
  it(`${PROCS} processes × ${OPS} mixed operations: the final state is the replay of the commit log`, async () => {
    const { repo, records, seconds, perProcess } = await load(PROCS, OPS);
    assertRepoHealthy(repo.dir);
    expect(await replayProblems(repo, records)).toEqual([]);
    for (const [p, mine] of perProcess.entries()) {
      const flushed = mine.filter((r) => r.op === 'state').pop();
      if (flushed) expect(await repo.get('state.json', `procs.p${p}`)).toBe(flushed.value);
    }
    const latencies = records.filter((r) => r.ms > 0).map((r) => r.ms);
    console.log(
      `load ${PROCS}x${OPS}: ${records.length} operations in ${seconds.toFixed(1)} s = ${(records.length / seconds).toFixed(0)} ops/s; ` +
        `latency p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms`,
    );
  }, 300_000);
});
