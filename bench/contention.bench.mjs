// Writers in several processes on one repository: 8 processes × 200 mixed writes (set,
// append, delete, transactions on two files, state.json flushes) against one process
// making the same mix alone (the median of three such runs); and, for context, one process
// making all 1,600 writes. Targets, as ratios measured in this run: the 8 processes'
// total throughput ≥ the lone process's; their p99 latency ≤ 25× the lone writer's median.
// Checked as it runs: 0 acknowledged writes lost, fsck clean, final state = replay of the log.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { StateRepo } from '../dist/index.js';
import { replayProblems } from '../test/helpers/replay.mjs';
import { ms, percentile, ROOT, settleDisk, table, tempDir } from './lib/util.mjs';

export const name = 'contention';
const QUICK = process.env.BENCH_QUICK === '1';
const PROCS = 8;
const OPS = QUICK ? 30 : 200;
const CHILD = join(ROOT, 'test/helpers/load-child.mjs');

function writer(dir, name, ops, seed) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, name, String(ops), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))) : reject(new Error(`${name} exited ${code}: ${err}`))));
  });
}

async function load(procs, ops) {
  // the previous run's writeback would otherwise land on this one's fsyncs
  settleDisk();
  const repo = await StateRepo.init(join(tempDir(), 'state'));
  const t = performance.now();
  const records = (await Promise.all(Array.from({ length: procs }, (_, p) => writer(repo.dir, `p${p}`, ops, 1000 + p)))).flat();
  const seconds = (performance.now() - t) / 1000;
  execFileSync('git', ['fsck', '--strict', '--no-progress'], { cwd: repo.dir, stdio: 'pipe' });
  const problems = await replayProblems(repo, records);
  if (problems.length > 0) throw new Error(`${procs} × ${ops}: ${problems.length} problems, first: ${problems[0]}`);
  const latencies = records.filter((r) => r.ms > 0).map((r) => r.ms).sort((a, b) => a - b);
  return { ops: records.length, seconds, rate: records.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

export async function run() {
  // the lone run is short (start-up is a fifth of it): the median of three
  const lone = [];
  for (let i = 0; i < 3; i++) lone.push(await load(1, OPS));
  const alone = lone.sort((a, b) => a.rate - b.rate)[1];
  const many = await load(PROCS, OPS);
  // For context: one process making all the writes, so its files grow as long as the eight processes' do
  // (a write parses its file twice, so the lone row above does less work per write).
  const sameWork = await load(1, PROCS * OPS);
  const throughput = many.rate / alone.rate;
  const tail = many.p99 / alone.p50;
  const rows = [
    ['1 process', alone.ops, alone.seconds.toFixed(1), alone.rate.toFixed(0), ms(alone.p50), ms(alone.p99), '', ''],
    [`${PROCS} processes`, many.ops, many.seconds.toFixed(1), many.rate.toFixed(0), ms(many.p50), ms(many.p99), `${throughput.toFixed(2)}× ${throughput >= 1 ? 'PASS' : 'MISS'}`, `${tail.toFixed(1)}× ${tail <= 25 ? 'PASS' : 'MISS'}`],
    [`1 process, all ${(PROCS * OPS).toLocaleString("en-US")} writes (context)`, sameWork.ops, sameWork.seconds.toFixed(1), sameWork.rate.toFixed(0), ms(sameWork.p50), ms(sameWork.p99), `${(many.rate / sameWork.rate).toFixed(2)}× (${PROCS} processes / this)`, ''],
  ];
  return [
    `### ${PROCS} processes × ${OPS} mixed writes on one repository (0 lost, fsck clean, final state = replay of the log)`,
    '',
    table(['writers', 'operations', 'seconds', 'ops/s', 'p50 ms', 'p99 ms', 'throughput vs 1 (≥ 1×)', 'p99 vs 1 writer\'s p50 (≤ 25×)'], rows),
  ].join('\n');
}
