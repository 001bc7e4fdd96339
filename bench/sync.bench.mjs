// Sync against the real servers the tests use (nginx + fcgiwrap + git http-backend over
// https with Basic auth; OpenSSH's sshd), CLI included, gitstate beside native git in one run:
// push, pull (fast-forward) and merge-sync (a local commit, then 1,000 incoming ones:
// fetch, merge, push) of 1,000 new commits, median of interleaved rounds.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StateRepo } from '../dist/index.js';
import { addRemote, cloneRepo } from '../dist/sync/remote.js';
import { sync } from '../dist/sync/sync.js';
import { startHttpServer, startSshServer } from '../test/helpers/real-servers.mjs';
import { CLI, copyRepo, git, ms, percentile, table, tempDir } from './lib/util.mjs';

export const name = 'sync';
const run$ = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';
const USER = 'bench';
const PASSWORD = 'bench-password';

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const gitstate = (dir, ...args) => run$(process.execPath, [CLI, '--dir', dir, '--quiet', ...args]);
const native = (dir, ...args) => run$('git', args, { cwd: dir });

async function measure(label, server, rounds, commits) {
  const ours = server.createRepo(`${label}-gitstate.git`);
  const theirs = server.createRepo(`${label}-native.git`);
  const writer = await StateRepo.init(join(tempDir(), 'state'));
  await addRemote(writer, 'origin', ours);
  await sync(writer);
  const nativeWriter = copyRepo(writer.dir, join(tempDir(), 'native'));
  git(nativeWriter, 'remote', 'set-url', 'origin', theirs);
  await native(nativeWriter, 'push', '-q', 'origin', 'main');
  const consumer = (await cloneRepo(ours, join(tempDir(), 'state'))).dir;
  const nativeConsumer = join(tempDir(), 'native-consumer');
  await run$('git', ['clone', '-q', theirs, nativeConsumer]);

  const times = { push: [[], []], pull: [[], []], merge: [[], []] };
  const nodeStart = [];
  for (let round = 0; round < rounds; round++) {
    // Merge-sync runs on a pair of server repos of its own, so its merges never reach the writer.
    const [oursMerge, theirsMerge] = [server.createRepo(`${label}-gitstate-merge-${round}.git`), server.createRepo(`${label}-native-merge-${round}.git`)];
    await native(writer.dir, 'push', '-q', oursMerge, 'main');
    await native(writer.dir, 'push', '-q', theirsMerge, 'main');
    const merger = (await cloneRepo(oursMerge, join(tempDir(), 'state'))).dir;
    const nativeMerger = join(tempDir(), 'native-merger');
    await run$('git', ['clone', '-q', theirsMerge, nativeMerger]);
    for (let i = 0; i < commits; i++) await writer.set(`projects/p${i % 20}/current_work`, 'test_status', `run ${label} ${round}.${i}`);
    const nativeCopy = copyRepo(writer.dir, join(tempDir(), 'native-copy'));
    git(nativeCopy, 'remote', 'set-url', 'origin', theirs);
    // One local commit on each merging side, so the sync is a true merge.
    await gitstate(merger, 'set', 'knowledge', `merger_${round}`, '1');
    writeFileSync(join(nativeMerger, 'knowledge.yaml'), `merger_${round}: 1\n`, { flag: 'a' });
    await native(nativeMerger, 'commit', '-qam', `merger ${round}`);

    await native(writer.dir, 'push', '-q', oursMerge, 'main');
    await native(writer.dir, 'push', '-q', theirsMerge, 'main');
    nodeStart.push(await time(() => run$(process.execPath, ['-e', '0'])));
    times.push[0].push(await time(() => gitstate(writer.dir, 'push')));
    times.push[1].push(await time(() => native(nativeCopy, 'push', '-q', 'origin', 'main')));
    times.pull[0].push(await time(() => gitstate(consumer, 'pull')));
    times.pull[1].push(await time(() => native(nativeConsumer, 'pull', '-q', '--ff-only', 'origin', 'main')));
    times.merge[0].push(await time(() => gitstate(merger, 'sync')));
    times.merge[1].push(await time(async () => {
      await native(nativeMerger, 'pull', '-q', '--no-rebase', '--no-edit', 'origin', 'main');
      await native(nativeMerger, 'push', '-q', 'origin', 'main');
    }));
    if (git(consumer, 'rev-parse', 'HEAD^{tree}') !== git(nativeConsumer, 'rev-parse', 'HEAD^{tree}')) throw new Error('pull results differ');
  }
  const median = (list) => percentile([...list].sort((a, b) => a - b), 0.5);
  // The floor: what a CLI that only started Node and then ran native git would score.
  const start = median(nodeStart);
  const row = (what, [a, b]) => {
    const [x, y] = [median(a), median(b)];
    return [`${label} ${what}`, ms(x), ms(y), `${(x / y).toFixed(2)}×`, `${((y + start) / y).toFixed(2)}×`, x <= 1.5 * y ? 'PASS' : 'MISS'];
  };
  return [row('push', times.push), row('pull (fast-forward)', times.pull), row('merge-sync', times.merge)];
}

export async function run() {
  const commits = QUICK ? 100 : 1000;
  const rounds = QUICK ? 1 : 3;
  const saved = { ...process.env };
  const http = await startHttpServer({ https: true, auth: { username: USER, password: PASSWORD } });
  const ssh = await startSshServer();
  try {
    // Both contenders see the same user config: the test CA, the ssh command, and credentials
    // (gitstate from GITSTATE_TOKEN, native git from a credential store).
    const home = tempDir();
    const creds = join(home, 'credentials');
    writeFileSync(creds, `https://${USER}:${PASSWORD}@127.0.0.1%3a${http.port}\n`);
    const config = join(home, 'gitconfig');
    writeFileSync(config, `[http]\n\tsslCAInfo = ${http.caFile}\n[core]\n\tsshCommand = ${ssh.sshCommand}\n[credential]\n\thelper = store --file ${creds}\n[user]\n\tname = bench\n\temail = b@example.com\n`);
    delete process.env.GIT_SSL_CAINFO;
    process.env.GIT_CONFIG_GLOBAL = config;
    process.env.GITSTATE_TOKEN = PASSWORD;
    process.env.GITSTATE_USERNAME = USER;
    const rows = [...(await measure('https', http, rounds, commits)), ...(await measure('ssh', ssh, rounds, commits))];
    return [
      `### Sync against nginx + git http-backend (https, Basic auth) and OpenSSH (${commits.toLocaleString('en-US')} new commits, CLI included, median of ${rounds} interleaved round${rounds > 1 ? 's' : ''})`,
      '',
      table(['operation', 'gitstate ms', 'native git ms', 'ratio', 'floor: `node -e 0` + native', 'target ≤ 1.5×'], rows),
    ].join('\n');
  } finally {
    process.env = saved;
    await http.close();
    await ssh.close();
  }
}
