// Write + commit, side by side: gitstate (library, in-process), isomorphic-git add+commit,
// native git spawned per write, and a plain atomic file write (the floor); on a 10-file repo
// and a 2,000-file repo with 20,000 commits. Plus the wall time of a one-shot `gitstate get`.
// Each contender runs alone on a settled disk (no write-back of the benchmark's own setup, or
// of the contender before, under way) in a process whose code is already hot (warmUpProcess),
// in ROUNDS turns spread over the run, so that a slow spell of the disk weighs on all alike.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { StateRepo } from '../dist/index.js';
import { CLI, copyRepo, generateRepo, measure, ms, percentile, settleDisk, table, tempDir } from './lib/util.mjs';

export const name = 'write';
const run$ = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 60 : 300;
const N_SPAWN = QUICK ? 20 : 100;
const WARMUP = 20;
const ROUNDS = QUICK ? 1 : 3;
/** Writes each in-process contender makes before anything is measured (see warmUpProcess). */
const PROCESS_WARMUP = QUICK ? 50 : 600;

const contenders = {
  async gitstate(dir) {
    const repo = await StateRepo.open(dir);
    return (i) => repo.set('knowledge', 'value', i);
  },
  async 'isomorphic-git add+commit'(dir) {
    const author = { name: 'bench', email: 'bench@example.com' };
    return async (i) => {
      fs.writeFileSync(join(dir, 'knowledge.yaml'), `value: ${i}\n`);
      await git.add({ fs, dir, filepath: 'knowledge.yaml' });
      await git.commit({ fs, dir, message: `write ${i}`, author });
    };
  },
  async 'native git (spawned)'(dir) {
    const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@e' };
    return async (i) => {
      fs.writeFileSync(join(dir, 'knowledge.yaml'), `value: ${i}\n`);
      await run$('git', ['add', 'knowledge.yaml'], { cwd: dir, env });
      await run$('git', ['commit', '-q', '--no-verify', '-m', `write ${i}`], { cwd: dir, env }); // no hooks: plain git
    };
  },
  // What a durable commit has to write, done the way gitstate's write path does it:
  // the file, a blob, a tree and a commit go into files made beforehand (blanks), the
  // ref and the index into the file their previous version was (spares); one parallel
  // round of fsyncs, then renames. No git, YAML or lock work at all: the floor under
  // the 2 ms target on this disk.
  async 'durable commit I/O (6 files, floor)'(dir) {
    const gitdir = join(dir, '.git');
    const scratch = join(gitdir, 'bench-floor');
    fs.mkdirSync(join(scratch, 'objects'), { recursive: true });
    const blanks = Array.from({ length: 4 * (Math.max(N, PROCESS_WARMUP) + WARMUP + 20) }, (_, i) => join(scratch, `blank-${i}`));
    for (const blank of blanks) fs.closeSync(fs.openSync(blank, 'w'));
    const spares = ['ref', 'index'].map((name) => {
      const target = join(scratch, name);
      fs.writeFileSync(target, 'x'.repeat(41));
      fs.writeFileSync(`${target}.a`, 'x'.repeat(41));
      return { target, names: [`${target}.a`, `${target}.b`] };
    });
    const sync = (fd) => new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
    return async (i) => {
      const data = `value: ${i}\n`;
      const staged = [join(dir, 'knowledge.yaml'), ...['blob', 'tree', 'commit'].map((kind) => join(scratch, 'objects', `${kind}-${i}`))].map((target) => ({ temp: blanks.pop(), target }));
      staged[0].keep = join(scratch, `retired-${i}`); // the replaced file is kept, not freed
      for (const { target, names } of spares) {
        staged.push({ temp: names[0], target, keep: names[1] });
        names.reverse();
      }
      for (const entry of staged) {
        entry.fd = fs.openSync(entry.temp, fs.constants.O_WRONLY);
        fs.writeSync(entry.fd, data, 0);
        fs.ftruncateSync(entry.fd, data.length);
      }
      await Promise.all(staged.map(({ fd }) => sync(fd)));
      for (const { fd, temp, target, keep } of staged) {
        fs.closeSync(fd);
        if (keep) fs.linkSync(target, keep);
        fs.renameSync(temp, target);
      }
    };
  },
  async 'atomic file write (floor)'(dir) {
    const file = join(dir, 'knowledge.yaml');
    return async (i) => {
      const temp = `${file}.tmp`;
      const fd = fs.openSync(temp, 'w');
      fs.writeFileSync(fd, `value: ${i}\n`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(temp, file);
    };
  },
};

async function oneShotGet(dir) {
  return measure(() => run$(process.execPath, [CLI, '--dir', dir, 'get', 'knowledge']), { count: QUICK ? 5 : 20, warmup: 2 });
}

/**
 * Run every in-process contender a while on a scratch repo first. V8 compiles a
 * hot path only after many calls, and gitstate, yaml and isomorphic-git are a lot
 * of code: without this, whichever contender ran first in the process measured
 * up to 1 ms a write slower than the same contender run again. The figures are a
 * long-lived process's steady state.
 */
async function warmUpProcess() {
  const scratch = await StateRepo.init(join(tempDir(), 'warm-up')).then((r) => r.dir);
  for (const [name, make] of Object.entries(contenders)) {
    if (name.startsWith('native')) continue;
    const write = await make(copyRepo(scratch, join(tempDir(), 'warm-up-copy')));
    for (let i = 0; i < PROCESS_WARMUP; i++) await write(i);
  }
}

export async function run() {
  await warmUpProcess();
  const repos = [
    ['10 files', await StateRepo.init(join(tempDir(), 'state')).then((r) => r.dir)],
    [QUICK ? '2,000 files, 2,000 commits' : '2,000 files, 20,000 commits', generateRepo(tempDir(), { files: 2000, commits: QUICK ? 2000 : 20000 })],
  ];
  const rows = [];
  const getRows = [];
  for (const [label, source] of repos) {
    const runs = [];
    for (const [name, make] of Object.entries(contenders)) {
      const write = await make(copyRepo(source, join(tempDir(), 'copy')));
      const spawned = name.startsWith('native');
      runs.push({ name, write, count: spawned ? N_SPAWN : N, done: 0 });
      for (let i = 0; i < (spawned ? 5 : WARMUP); i++) await write(runs.at(-1).done++);
    }
    const results = Object.fromEntries(runs.map(({ name }) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of runs) {
        settleDisk();
        const times = await measure((i) => run.write(run.done + i), { count: Math.ceil(run.count / ROUNDS), warmup: 0 });
        run.done += times.length;
        results[run.name].push(...times);
      }
    }
    for (const times of Object.values(results)) times.sort((a, b) => a - b);
    const native = percentile(results['native git (spawned)'], 0.5);
    for (const [contender, times] of Object.entries(results)) {
      const median = percentile(times, 0.5);
      const ours = contender === 'gitstate';
      rows.push([
        label,
        contender,
        ms(median),
        ms(percentile(times, 0.95)),
        (1000 / median).toFixed(0),
        `${(native / median).toFixed(1)}×`,
        ours ? (median <= 2 ? 'PASS' : 'MISS') : '',
        ours ? (native / median >= 2.5 ? 'PASS' : 'MISS') : '',
      ]);
    }
    const get = await oneShotGet(source);
    const revParse = await measure(() => run$('git', ['rev-parse', 'HEAD'], { cwd: source }), { count: 10, warmup: 2 });
    getRows.push([label, ms(percentile(get, 0.5)), ms(percentile(revParse, 0.5)), percentile(get, 0.5) <= 150 ? 'PASS' : 'MISS']);
  }
  return [
    '### Write + commit (one YAML value per write)',
    '',
    table(['repo', 'contender', 'median ms', 'p95 ms', 'writes/s', 'vs native git', 'target ≤ 2 ms', 'target ≥ 2.5×'], rows),
    '',
    '### One-shot `gitstate get` (a new node process)',
    '',
    table(['repo', 'gitstate get, median ms', '`git rev-parse HEAD`, median ms', 'target ≤ 150 ms'], getRows),
  ].join('\n');
}
