/**
 * `newest` by the write that introduced each side's value (not the newest
 * commit touching the file), the conflict record naming that write, the
 * clock-skew rule, and secrets that arrive by sync. Commit times are set with
 * a faked Date, so no test waits on the clock.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import type { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { SKEW_BOUND_S } from '../../src/sync/newest.js';
import { useGitServer } from '../helpers/server.js';
import { runMain } from '../helpers/main.js';
import { assertRepoHealthy, git, gitAsync, headOid, tempDir, tempRepo } from '../helpers/repo.js';
// The server runs in this process: git that talks to it must not block it (gitAsync, not git).

const gitServer = useGitServer();
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

afterEach(() => {
  vi.useRealTimers();
  delete process.env.GITSTATE_HOST;
});

/** Run `fn` as machine `host` with its clock at `at`. */
async function as<T>(host: string, at: number, fn: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(at);
  process.env.GITSTATE_HOST = host;
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
    delete process.env.GITSTATE_HOST;
  }
}

async function machines(name: string, count: number): Promise<StateRepo[]> {
  const url = gitServer().createRepo(`${name}.git`);
  const first = await as('A', T0 - 60_000, async () => {
    const repo = await tempRepo();
    await addRemote(repo, 'origin', url);
    await repo.set('environments', 'dev.url', 'seed');
    await sync(repo);
    return repo;
  });
  const rest: StateRepo[] = [];
  for (let i = 1; i < count; i++) {
    const dir = join(await tempDir(), 'state');
    rest.push(await as(String.fromCharCode(65 + i), T0 - 50_000, () => cloneRepo(url, dir)));
  }
  return [first, ...rest];
}

const commitTime = (dir: string, commit: string) => new Date(Number(git(dir, 'show', '-s', '--format=%ct', commit).trim()) * 1000).toISOString();

async function records(repo: StateRepo) {
  return (parse(await readFile(join(repo.dir, '.gitstate/conflicts.yaml'), 'utf8')) as { conflicts: Array<Record<string, any>> }).conflicts;
}

describe('newest', () => {
  it("takes the newer write of the value, not the newest commit touching the file (a merge that carried the value over doesn't count)", async () => {
    const [a, b, c] = await machines('newest', 3);
    const aWrite = await as('A', T0, () => a!.set('environments', 'dev.url', 'a'));
    await as('B', T0 + 4000, () => b!.set('environments', 'prod.url', 'b'));
    const cWrite = await as('C', T0 + 8000, () => c!.set('environments', 'dev.url', 'c'));
    await as('A', T0 + 10_000, () => sync(a!));
    await as('B', T0 + 11_000, () => sync(b!)); // B's merge commit is now the newest commit touching the file
    const result = await as('C', T0 + 12_000, () => sync(c!));
    expect(await c!.get('environments')).toEqual({ dev: { url: 'c' }, prod: { url: 'b' } });
    expect(result.conflicts).toMatchObject([{ file: 'environments.yaml', key: 'dev.url', kept: 'ours', strategy: 'newest' }]);
    const [record] = await records(c!);
    // The record names the commits that wrote each value, with their hosts and times.
    expect(record).toMatchObject({
      ours: { value: 'c', commit: cWrite.commit, host: 'C', time: commitTime(c!.dir, cWrite.commit) },
      theirs: { value: 'a', commit: aWrite.commit, host: 'A', time: commitTime(c!.dir, aWrite.commit) },
    });
    await as('A', T0 + 13_000, () => sync(a!));
    expect(await a!.get('environments', 'dev.url')).toBe('c');
    assertRepoHealthy(c!.dir);
  });

  it('a clock running fast is not believed: its write loses to one with a believable time', async () => {
    const [a, b] = await machines('skew', 2);
    // B's clock is an hour fast; A writes later in real time.
    const fast = T0 + 3600_000;
    await as('B', fast, () => b!.set('environments', 'dev.url', 'from-fast-clock'));
    await as('B', fast, () => sync(b!));
    await as('A', T0 + 1000, () => a!.set('environments', 'dev.url', 'from-right-clock'));
    const result = await as('A', T0 + 2000, () => sync(a!));
    expect(SKEW_BOUND_S).toBeLessThan(3600);
    expect(result.conflicts[0]).toMatchObject({ key: 'dev.url', kept: 'ours' });
    expect(await a!.get('environments', 'dev.url')).toBe('from-right-clock');
    // Within the bound, plain commit time decides: B writes again, a minute later than A.
    await as('B', T0 + 3000, () => sync(b!));
    await as('B', T0 + 63_000, () => b!.set('environments', 'dev.url', 'b-later'));
    await as('A', T0 + 4000, () => a!.set('environments', 'dev.url', 'a-earlier'));
    await as('B', T0 + 64_000, () => sync(b!));
    const second = await as('A', T0 + 65_000, () => sync(a!));
    expect(second.conflicts[0]).toMatchObject({ key: 'dev.url', kept: 'theirs' });
    expect(await a!.get('environments', 'dev.url')).toBe('b-later');
  });
});

describe('secrets that arrive by sync', () => {
  const TOKEN = `ghp_${'A1b2C3d4E5'.repeat(4)}`;

  it('a pulled secret is reported (commit, file, rule, never the value) and blocks nothing; conflict records redact it', async () => {
    const url = gitServer().createRepo('secret.git');
    const dir = join(await tempDir(), 'state');
    await runMain(['init'], { dir });
    await runMain(['remote', 'add', 'origin', url], { dir });
    await runMain(['sync'], { dir });
    const other = join(await tempDir(), 'other');
    expect((await runMain(['clone', url], { dir: other })).code).toBe(0);
    // Someone else commits a secret with native git, past the hooks.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(other, 'knowledge.yaml'), `remote_secret: ${TOKEN}\nowner: other\n`);
    git(other, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '--no-verify', '-qam', 'a secret, by mistake');
    const secretCommit = headOid(other);
    await gitAsync(other, 'push', '-q', 'origin', 'main');
    // Here: a change to the same file and key, so the merge conflicts on a value next to the secret.
    await runMain(['set', 'knowledge', 'owner', 'me'], { dir });
    for (const strategy of ['theirs', 'ours']) {
      const r = await runMain(['sync', '--strategy', strategy], { dir });
      expect(r.code, r.stderr).toBe(0);
      if (strategy === 'theirs') {
        expect(r.stdout).toMatch(new RegExp(`warning: commit ${secretCommit.slice(0, 12)} from origin put what looks like a secret in knowledge\\.yaml at remote_secret \\(rule github-token\\)`));
        expect(r.stdout + r.stderr).not.toContain(TOKEN);
      }
    }
    expect(await readFile(join(dir, 'knowledge.yaml'), 'utf8')).toContain('remote_secret');
    assertRepoHealthy(dir);
    // A conflict on the secret's own key: the record holds a marker and the commit, not the value.
    await gitAsync(other, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'pull', '-q', '--no-rebase', '--no-edit', 'origin', 'main');
    await runMain(['set', 'knowledge', 'remote_secret', 'redacted'], { dir });
    await writeFile(join(other, 'knowledge.yaml'), `remote_secret: ${TOKEN.replace('A1', 'Y8')}\nowner: other\n`);
    git(other, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '--no-verify', '-qam', 'another secret');
    await gitAsync(other, 'push', '-q', 'origin', 'main');
    const r = await runMain(['sync', '--strategy', 'ours', '--json'], { dir });
    expect(r.code, r.stderr).toBe(0);
    const conflicts = await readFile(join(dir, '.gitstate/conflicts.yaml'), 'utf8');
    expect(conflicts).not.toMatch(/ghp_/);
    expect(conflicts).toContain(`see it in commit ${headOid(other)}`);
    expect(await readFile(join(dir, 'knowledge.yaml'), 'utf8')).toContain('remote_secret: redacted');
    assertRepoHealthy(dir);
  });
});
