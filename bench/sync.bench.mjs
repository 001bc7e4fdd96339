// Sync over loopback HTTP (git http-backend on 127.0.0.1): push and pull of 1,000 new
// commits, gitstate beside native git doing the same over the same server.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StateRepo } from '../dist/index.js';
import { addRemote, cloneRepo } from '../dist/sync/remote.js';
import { pull, push, sync } from '../dist/sync/sync.js';
import { startGitServer } from '../test/helpers/git-server.mjs';
import { copyRepo, git, ms, table, tempDir } from './lib/util.mjs';

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

    for (let i = 0; i < commits; i++) await writer.set(`projects/p${i % 20}/current_work`, 'test_status', `run ${i}`);
    // The same 1,000 commits for native git: a copy of the writer, pointed at its own server repo.
    const nativeCopy = copyRepo(writer.dir, join(tempDir(), 'native-copy'));
    git(nativeCopy, 'remote', 'set-url', 'origin', theirs);

    const pushOurs = await time(() => push(writer));
    const pushNative = await time(() => run$('git', ['push', '-q', 'origin', 'main'], { cwd: nativeCopy }));
    const pullOurs = await time(() => pull(consumer));
    const pullNative = await time(() => run$('git', ['pull', '-q', '--ff-only', 'origin', 'main'], { cwd: nativeConsumer }));
    if (git(consumer.dir, 'rev-parse', 'HEAD') !== git(nativeConsumer, 'rev-parse', 'HEAD')) throw new Error('pull results differ');
    const row = (label, a, b) => [label, ms(a), ms(b), `${(a / b).toFixed(2)}×`, a <= 2 * b ? 'PASS' : 'MISS'];
    return [
      `### Sync over loopback HTTP (${commits.toLocaleString('en-US')} new commits)`,
      '',
      table(['operation', 'gitstate ms', 'native git ms', 'ratio', 'target ≤ 2×'], [row('push', pushOurs, pushNative), row('pull (fast-forward)', pullOurs, pullNative)]),
    ].join('\n');
  } finally {
    await server.close();
  }
}
