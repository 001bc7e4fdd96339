// History on a 10,000-commit repo: gitstate's log (in-process, and the CLI) beside
// native `git log -- FILE` spawned, plus isomorphic-git's log({filepath}) (the naive path).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { StateRepo } from '../dist/index.js';
import { History } from '../dist/history/history.js';
import { CLI, generateRepo, measure, ms, percentile, table, tempDir } from './lib/util.mjs';

export const name = 'log';
const run$ = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';

export async function run() {
  const commits = QUICK ? 2000 : 10_000;
  const dir = generateRepo(tempDir(), { files: 200, commits, keyEvery: 50 });
  const repo = await StateRepo.open(dir);
  let t = performance.now();
  await new History(repo).log({ limit: 1 });
  const cold = performance.now() - t;

  const count = QUICK ? 5 : 15;
  const cases = [
    ['log FILE -n 20', { file: 'knowledge', limit: 20 }, ['log', '-n', '20', '--format=%H', '--', 'knowledge.yaml'], ['log', 'knowledge', '-n', '20']],
    ['log FILE', { file: 'knowledge' }, ['log', '--format=%H', '--', 'knowledge.yaml'], ['log', 'knowledge']],
  ];
  const rows = [];
  for (const [label, options, nativeArgs, cliArgs] of cases) {
    // A new History each time: the index is read from disk, as a new process would.
    const ours = percentile(await measure(() => new History(repo).log(options), { count, warmup: 2 }), 0.5);
    const native = percentile(await measure(() => run$('git', nativeArgs, { cwd: dir, maxBuffer: 1 << 26 }), { count, warmup: 2 }), 0.5);
    const cli = percentile(await measure(() => run$(process.execPath, [CLI, '--dir', dir, ...cliArgs], { maxBuffer: 1 << 26 }), { count: QUICK ? 3 : 8, warmup: 1 }), 0.5);
    rows.push([label, ms(ours), ms(native), `${(ours / native).toFixed(2)}×`, ours <= 2 * native ? 'PASS' : 'MISS', ms(cli), cli <= 2 * native + 200 ? 'PASS' : 'MISS']);
  }
  // The naive path, for scale: isomorphic-git walks every commit and resolves the path in every tree.
  t = performance.now();
  const naive = await git.log({ fs, dir, filepath: 'knowledge.yaml', depth: 20 });
  const naiveMs = performance.now() - t;
  return [
    `### History (${commits.toLocaleString('en-US')} commits, 202 files)`,
    '',
    table(
      ['query', 'gitstate in-process ms', 'native git (spawned) ms', 'ratio', 'target ≤ 2×', 'gitstate CLI ms', 'target ≤ 2× native + 200 ms'],
      rows,
    ),
    '',
    `Building the history index from scratch (a fresh clone of this history): ${ms(cold)} ms, once. ` +
      `isomorphic-git \`log({filepath, depth: 20})\` for comparison: ${ms(naiveMs)} ms (${naive.length} entries; its depth is off by one).`,
  ].join('\n');
}
