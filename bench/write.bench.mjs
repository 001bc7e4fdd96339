// Write + commit in one long-lived process, side by side in one run, on a 10-file repo and
// a 2,000-file repo with 20,000 commits, on the disk of the temp dir and on tmpfs (/dev/shm):
//   - gitstate, one writer: awaited `repo.set` one after another;
//   - the durable-write floor: the same files a write makes (work-tree file, blob, tree,
//     commit, ref, and an index of the repo's real size) written to fresh temp files,
//     fsynced in parallel, renamed into place, then their folders fsynced: no git, YAML or lock;
//   - native git spawned per write (git add + git commit), for context;
//   - gitstate, 8 concurrent writers in one process (group commit).
// Targets (on the disk, as ratios measured in this run): one writer's median ≤ 2.5× the
// floor's; 8 concurrent writers ≥ 3× one writer's throughput. tmpfs has no fsync to share:
// its figures are reported without a target.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StateRepo } from '../dist/index.js';
import { copyRepo, generateRepo, measure, ms, percentile, settleDisk, table, tempDir } from './lib/util.mjs';

export const name = 'write';
const run$ = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 60 : 300;
const N_SPAWN = QUICK ? 10 : 60;
const WARMUP = 30;
const ROUNDS = QUICK ? 1 : 3;
const WRITERS = 8;

/** The floor: what a commit has to make durable, done plainly. */
function floor(dir) {
  const gitdir = join(dir, '.git');
  const index = fs.readFileSync(join(gitdir, 'index'));
  const scratch = join(gitdir, 'bench-floor');
  fs.mkdirSync(scratch, { recursive: true });
  const syncFd = (fd) => new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  const syncDir = async (d) => {
    const handle = await fs.promises.open(d, 'r');
    await handle.sync();
    await handle.close();
  };
  let n = 0;
  return async (i) => {
    const data = Buffer.from(`value: ${i}\n`);
    const fanout = (k) => join(gitdir, 'objects', (((i * 3 + k) * 37) % 256).toString(16).padStart(2, '0'));
    const targets = [
      [join(dir, 'knowledge.yaml'), data],
      ...[0, 1, 2].map((k) => [join(fanout(k), `bench-${i}-${k}`), data]),
      [join(gitdir, 'bench-ref'), Buffer.from(`${'0'.repeat(40)}\n`)],
      [join(gitdir, 'bench-index'), index],
    ];
    const staged = targets.map(([target, bytes]) => {
      fs.mkdirSync(join(target, '..'), { recursive: true });
      const temp = join(scratch, `t-${++n}`);
      const fd = fs.openSync(temp, 'wx');
      fs.writeSync(fd, bytes);
      return { fd, temp, target };
    });
    await Promise.all(staged.map(({ fd }) => syncFd(fd)));
    for (const { fd, temp, target } of staged) {
      fs.closeSync(fd);
      fs.renameSync(temp, target);
    }
    await Promise.all([...new Set(staged.map(({ target }) => join(target, '..')))].map(syncDir));
  };
}

function nativeGit(dir) {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@e' };
  return async (i) => {
    fs.writeFileSync(join(dir, 'knowledge.yaml'), `value: ${i}\n`);
    await run$('git', ['add', 'knowledge.yaml'], { cwd: dir, env });
    await run$('git', ['commit', '-q', '--no-verify', '-m', `write ${i}`], { cwd: dir, env });
  };
}

/** Writes/s of `writers` concurrent loops in one process, `count` writes in all. */
async function concurrent(repo, writers, count, offset) {
  const t = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = w; i < count; i += writers) await repo.set('knowledge', `w${w}`, offset + i);
  }));
  return (count / (performance.now() - t)) * 1000;
}

async function measureRepo(label, source, make) {
  const gitstate = await StateRepo.open(copyRepo(source, join(make(), 'gitstate')));
  const group = await StateRepo.open(copyRepo(source, join(make(), 'group')));
  const writeFloor = floor(copyRepo(source, join(make(), 'floor')));
  const writeNative = nativeGit(copyRepo(source, join(make(), 'native')));
  let done = 0;
  const ours = (i) => gitstate.set('knowledge', 'value', i);
  for (let i = 0; i < WARMUP; i++) {
    await ours(done++);
    await writeFloor(done);
  }
  await concurrent(group, WRITERS, WARMUP * WRITERS, 0);
  const results = { gitstate: [], floor: [], native: [], single: [], group: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const per = Math.ceil(N / ROUNDS);
    settleDisk();
    results.gitstate.push(...(await measure((i) => ours(done + i), { count: per, warmup: 0 })));
    done += per;
    settleDisk();
    results.floor.push(...(await measure((i) => writeFloor(done + i), { count: per, warmup: 0 })));
    done += per;
    settleDisk();
    results.native.push(...(await measure((i) => writeNative(done + i), { count: Math.ceil(N_SPAWN / ROUNDS), warmup: 0 })));
    settleDisk();
    results.single.push(await concurrent(group, 1, per, done));
    done += per;
    settleDisk();
    results.group.push(await concurrent(group, WRITERS, per * 2, done));
    done += per * 2;
  }
  for (const key of ['gitstate', 'floor', 'native']) results[key].sort((a, b) => a - b);
  const median = (key) => percentile(results[key], 0.5);
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    label,
    gitstate: median('gitstate'),
    p95: percentile(results.gitstate, 0.95),
    floor: median('floor'),
    native: median('native'),
    single: mean(results.single),
    group: mean(results.group),
  };
}

export async function run() {
  const places = [['disk', undefined]];
  if (fs.existsSync('/dev/shm')) places.push(['tmpfs', '/dev/shm']);
  const rows = [];
  for (const [place, base] of places) {
    const made = [];
    const make = () => {
      if (!base) return tempDir();
      made.push(fs.mkdtempSync(join(base, 'gitstate-bench-')));
      return made.at(-1);
    };
    const small = await StateRepo.init(join(make(), 'state')).then((r) => r.dir);
    const large = generateRepo(make(), { files: 2000, commits: QUICK ? 2000 : 20000 });
    for (const [label, source] of [['10 files', small], [QUICK ? '2,000 files, 2,000 commits' : '2,000 files, 20,000 commits', large]]) {
      const r = await measureRepo(label, source, make);
      const onDisk = place === 'disk';
      const floorRatio = r.gitstate / r.floor;
      const groupRatio = r.group / r.single;
      rows.push([
        place,
        label,
        ms(r.gitstate),
        ms(r.p95),
        ms(r.floor),
        `${floorRatio.toFixed(2)}×${onDisk ? (floorRatio <= 2.5 ? ' PASS' : ' MISS') : ''}`,
        ms(r.native),
        `${r.single.toFixed(0)} → ${r.group.toFixed(0)}`,
        `${groupRatio.toFixed(2)}×${onDisk ? (groupRatio >= 3 ? ' PASS' : ' MISS') : ''}`,
      ]);
    }
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    '### Write + commit in one process (one YAML value per write)',
    '',
    table(
      ['on', 'repo', 'gitstate median ms', 'p95 ms', 'durable floor ms', 'gitstate / floor (≤ 2.5×)', 'native git spawned ms', `writes/s: 1 → ${WRITERS} writers`, `${WRITERS} writers / 1 (≥ 3×)`],
      rows,
    ),
  ].join('\n');
}
