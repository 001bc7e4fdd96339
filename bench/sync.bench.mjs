// Sync over loopback HTTP (git http-backend on 127.0.0.1): push and pull of 1,000 new
// commits, gitstate beside native git doing the same over the same server; and the fetch
// alone, the part of a pull that is isomorphic-git's own (receiving and indexing the pack).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StateRepo } from '../dist/index.js';
import { addRemote, cloneRepo } from '../dist/sync/remote.js';
import { pull, push, sync } from '../dist/sync/sync.js';
import { fetchBranch } from '../dist/sync/transport.js';
import { startGitServer } from '../test/helpers/git-server.mjs';
import { copyRepo, git, ms, percentile, table, tempDir } from './lib/util.mjs';

export const name = 'sync';
const run$ = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function run() {
  const commits = QUICK ? 100 : 1000;
  const server = await startGitServer();
  try {
    const ours = server.createRepo('gitstate.git');
    const theirs = server.createRepo('native.git');
    const writer = await StateRepo.init(join(tempDir(), 'state'));
    await addRemote(writer, 'origin', ours);
    await sync(writer);
    const consumer = await cloneRepo(ours, join(tempDir(), 'state'));
    // Native git gets the same starting point on its own server repo.
    const nativeWriter = copyRepo(writer.dir, join(tempDir(), 'native'));
    git(nativeWriter, 'remote', 'set-url', 'origin', theirs);
    // Async: the server runs in this process, so a blocking git call would wait for it forever.
    await run$('git', ['push', '-q', 'origin', 'main'], { cwd: nativeWriter });
    const nativeConsumer = join(tempDir(), 'native-consumer');
    await run$('git', ['clone', '-q', theirs, nativeConsumer]);

    const rounds = QUICK ? 1 : 3;
    const times = { push: [[], []], pull: [[], []], fetch: [[], []] };
    for (let round = 0; round < rounds; round++) {
      // Fetch-only consumers: each side's repo as it stands before this round's commits.
      const fetcher = await cloneRepo(ours, join(tempDir(), 'state'));
      const nativeFetcher = join(tempDir(), 'native-fetcher');
      await run$('git', ['clone', '-q', theirs, nativeFetcher]);

      for (let i = 0; i < commits; i++) await writer.set(`projects/p${i % 20}/current_work`, 'test_status', `run ${round}.${i}`);
      // The same commits for native git: a copy of the writer, pointed at its own server repo.
      const nativeCopy = copyRepo(writer.dir, join(tempDir(), 'native-copy'));
      git(nativeCopy, 'remote', 'set-url', 'origin', theirs);

      times.push[0].push(await time(() => push(writer)));
      times.push[1].push(await time(() => run$('git', ['push', '-q', 'origin', 'main'], { cwd: nativeCopy })));
      times.pull[0].push(await time(() => pull(consumer)));
      times.pull[1].push(await time(() => run$('git', ['pull', '-q', '--ff-only', 'origin', 'main'], { cwd: nativeConsumer })));
      times.fetch[0].push(await time(() => fetchBranch(fetcher, 'origin', ours, {})));
      times.fetch[1].push(await time(() => run$('git', ['fetch', '-q', 'origin'], { cwd: nativeFetcher })));
      if (git(consumer.dir, 'rev-parse', 'HEAD') !== git(nativeConsumer, 'rev-parse', 'HEAD')) throw new Error('pull results differ');
    }
    const median = (list) => percentile([...list].sort((a, b) => a - b), 0.5);
    const row = (label, [a, b], target = true) => {
      const [x, y] = [median(a), median(b)];
      return [label, ms(x), ms(y), `${(x / y).toFixed(2)}×`, target ? (x <= 2 * y ? 'PASS' : 'MISS') : ''];
    };
    return [
      `### Sync over loopback HTTP (${commits.toLocaleString('en-US')} new commits, median of ${rounds} round${rounds > 1 ? 's' : ''})`,
      '',
      table(['operation', 'gitstate ms', 'native git ms', 'ratio', 'target ≤ 2×'], [
        row('push', times.push),
        row('pull (fast-forward)', times.pull),
        row('fetch only (isomorphic-git `fetch` vs `git fetch`)', times.fetch, false),
      ]),
    ].join('\n');
  } finally {
    await server.close();
  }
}
