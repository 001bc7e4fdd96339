// One-shot CLI calls as a user or a hook makes them: a new node process each, timed from
// spawn to exit, alternating with `node -e 0` (Node's start-up floor) so both see the same
// machine. Targets, as ratios of medians in this run: `gitstate set` ≤ 1.6× `node -e 0`,
// `gitstate get` ≤ 1.3×.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { StateRepo } from '../dist/index.js';
import { CLI, ms, percentile, table, tempDir } from './lib/util.mjs';

export const name = 'cli';
const QUICK = process.env.BENCH_QUICK === '1';
const PAIRS = QUICK ? 8 : 40;

function wall(args, cwd, env = {}) {
  const t = performance.now();
  const r = spawnSync(args[0], args.slice(1), { cwd, stdio: 'ignore', env: { ...process.env, GITSTATE_DIR: '', ...env } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return performance.now() - t;
}

export async function run() {
  const dir = (await StateRepo.init(join(tempDir(), 'state'))).dir;
  const floor = [process.execPath, '-e', '0'];
  let n = 0;
  const noCache = { GITSTATE_CODE_CACHE: 'off' };
  const commands = [
    ['gitstate set knowledge k v', () => [process.execPath, CLI, '--dir', dir, 'set', 'knowledge', 'k', `v${n++}`], 1.6],
    ['gitstate get knowledge k', () => [process.execPath, CLI, '--dir', dir, 'get', 'knowledge', 'k'], 1.3],
    ['gitstate set, without the code cache', () => [process.execPath, CLI, '--dir', dir, 'set', 'knowledge', 'k', `v${n++}`], null, noCache],
    ['gitstate get, without the code cache', () => [process.execPath, CLI, '--dir', dir, 'get', 'knowledge', 'k'], null, noCache],
    ['commander + yaml alone: parse the file, print a value', () => [process.execPath, join(import.meta.dirname, 'lib/deps-floor.mjs'), join(dir, 'knowledge.yaml'), 'k'], null],
    ['git add + git commit (2 processes)', null, null],
  ];
  const rows = [];
  for (const [label, make, target, env] of commands) {
    const times = [];
    const floors = [];
    for (let i = 0; i < PAIRS + 3; i++) {
      const f = wall(floor, dir);
      const t = make
        ? wall(make(), dir, env)
        : (() => {
            const file = join(dir, 'hand.txt');
            spawnSync('sh', ['-c', `echo ${i} >> ${file}`]);
            return wall(['git', 'add', 'hand.txt'], dir) + wall(['git', 'commit', '-q', '--no-verify', '-m', `hand ${i}`], dir);
          })();
      if (i < 3) continue; // warm-up: page cache, first compile of the bundle
      floors.push(f);
      times.push(t);
    }
    times.sort((a, b) => a - b);
    floors.sort((a, b) => a - b);
    const ratio = percentile(times, 0.5) / percentile(floors, 0.5);
    rows.push([label, ms(percentile(times, 0.5)), ms(percentile(times, 0.9)), ms(percentile(floors, 0.5)), `${ratio.toFixed(2)}×`, target ? `≤ ${target}× ${ratio <= target ? 'PASS' : 'MISS'}` : '']);
  }
  return ['### One-shot CLI calls (a new process each)', '', table(['command', 'median ms', 'p90 ms', '`node -e 0` median ms', 'ratio', 'target'], rows)].join('\n');
}
