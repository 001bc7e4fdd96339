// Repository growth: size and write/log speed after 10,000 gitstate writes, before and after
// gc (gitstate gc with native git, with isomorphic-git, and native `git gc` itself), and
// write speed at 100, 10,000 and 50,000 commits.
import { join } from 'node:path';
import { StateRepo } from '../dist/index.js';
import { gc, objectStats } from '../dist/gc/gc.js';
import { History } from '../dist/history/history.js';
import { copyRepo, generateRepo, git, measure, ms, percentile, settleDisk, table, tempDir } from './lib/util.mjs';

export const name = 'gc';
const QUICK = process.env.BENCH_QUICK === '1';

async function speeds(dir) {
  settleDisk(); // not under the write-back of the copy, the gc or the generated repo just made
  const repo = await StateRepo.open(dir);
  const write = percentile(await measure((i) => repo.set('knowledge', 'bench', i), { count: QUICK ? 20 : 100, warmup: 5 }), 0.5);
  const log = percentile(await measure(() => new History(repo).log({ file: 'knowledge', limit: 20 }), { count: 5, warmup: 1 }), 0.5);
  return { write, log };
}

export async function run() {
  const writes = QUICK ? 500 : 10_000;
  const repo = await StateRepo.init(join(tempDir(), 'state'));
  for (let i = 0; i < writes; i++) await repo.set(i % 2 ? 'knowledge' : `projects/p${i % 50}/current_work`, i % 2 ? `k${i % 100}` : 'test_status', `w${i}`);
  const copies = { 'gitstate gc (native git)': copyRepo(repo.dir, join(tempDir(), 'a')), 'gitstate gc --no-native (isomorphic-git)': copyRepo(repo.dir, join(tempDir(), 'b')), 'git gc (native, directly)': copyRepo(repo.dir, join(tempDir(), 'c')) };
  const rows = [];
  const before = await objectStats(join(repo.dir, '.git'));
  const base = await speeds(repo.dir);
  rows.push(['before gc', before.looseObjects.toLocaleString('en-US'), String(before.packs), `${(before.bytes / 1048576).toFixed(1)} MiB`, '', ms(base.write), ms(base.log)]);
  for (const [label, dir] of Object.entries(copies)) {
    const t = performance.now();
    if (label.startsWith('git gc')) git(dir, 'gc', '--quiet');
    else await gc(await StateRepo.open(dir), { native: !label.includes('no-native') });
    const took = performance.now() - t;
    const after = await objectStats(join(dir, '.git'));
    const s = await speeds(dir);
    rows.push([label, after.looseObjects.toLocaleString('en-US'), String(after.packs), `${(after.bytes / 1048576).toFixed(1)} MiB`, ms(took), ms(s.write), ms(s.log)]);
  }
  const scaling = [];
  for (const commits of QUICK ? [100, 2000] : [100, 10_000, 50_000]) {
    const dir = generateRepo(tempDir(), { files: 200, commits });
    scaling.push([commits.toLocaleString('en-US'), ms((await speeds(dir)).write)]);
  }
  return [
    `### Growth and gc (${writes.toLocaleString('en-US')} gitstate writes)`,
    '',
    table(['state', 'loose objects', 'packs', 'objects size', 'gc took ms', 'write median ms', 'log FILE -n 20 ms'], rows),
    '',
    table(['commits in the repo', 'gitstate write median ms'], scaling),
  ].join('\n');
}
