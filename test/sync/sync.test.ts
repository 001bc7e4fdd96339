import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo, listRemotes } from '../../src/sync/remote.js';
import { pull, push, retryWait, sync, syncStatus } from '../../src/sync/sync.js';
import { FakeClock } from '../helpers/clock.js';
import { ConflictError, UsageError } from '../../src/errors.js';
import { PushRefusedError } from '../../src/sync/errors.js';
import { HistoryIndex } from '../../src/history/index-file.js';
import { useGitServer } from '../helpers/server.js';
import { serverLines } from '../../src/sync/transport.js';
import { machinesOn } from '../helpers/machines.js';
import { hookMovingMain } from '../helpers/real-servers.mjs';
import { assertRepoHealthy, CLI, cli, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

const gitServer = useGitServer();

const twoMachines = (name: string) => machinesOn(gitServer(), name);

describe('sync over http (git http-backend on 127.0.0.1)', () => {
  it('clone of an empty remote seeds it; push and pull carry writes across', async () => {
    const url = gitServer().createRepo('empty.git');
    const first = await cloneRepo(url, join(await tempDir(), 'state'));
    expect(await first.get('current_work')).toEqual({ active_issues: [], active_branches: [] });
    expect(git(gitServer().root + '/empty.git', 'rev-parse', 'main').trim()).toBe(headOid(first.dir));
    const second = await cloneRepo(url, join(await tempDir(), 'state'));
    await second.set('knowledge', 'from_second', 1);
    await push(second);
    const diffs = vi.spyOn(HistoryIndex.prototype, 'changedBetween');
    const r = await pull(first);
    expect(r.action).toBe('fast-forward');
    expect(diffs).toHaveBeenCalledTimes(1); // the check for hand edits and the fast-forward share one diff
    diffs.mockRestore();
    expect(await first.get('knowledge', 'from_second')).toBe(1);
    assertRepoHealthy(first.dir);
    expect(await listRemotes(first)).toEqual([{ name: 'origin', url }]);
  });

  itFull('without the system git, push and pull go through isomorphic-git (found missing by starting it, no probe)', async () => {
    const { laptop, desktop } = await twoMachines('no-git');
    const saved = process.env.PATH;
    process.env.PATH = await tempDir('no-git-'); // a folder with no git in it
    try {
      await laptop.set('knowledge', 'carried_without_git', true);
      expect((await push(laptop)).pushed).toBe(true);
      expect((await pull(desktop)).action).toBe('fast-forward');
    } finally {
      process.env.PATH = saved;
    }
    expect(await desktop.get('knowledge', 'carried_without_git')).toBe(true);
    expect(headOid(desktop.dir)).toBe(headOid(laptop.dir));
    assertRepoHealthy(desktop.dir);
  });

  it('concurrent edits of different keys merge key by key; both sides converge', async () => {
    const { laptop, desktop } = await twoMachines('keys');
    await laptop.set('environments', 'dev.namespace', 'dev-laptop');
    await desktop.set('environments', 'qa.namespace', 'qa-desktop');
    await desktop.append('current_work', 'active_issues', { key: 'D-1', status: 'Open' });
    await sync(laptop);
    const readsHistory = vi.spyOn(HistoryIndex.prototype, 'update');
    const merged = await sync(desktop);
    // no value changed on both sides: who wrote what is never asked, and the history is not read
    expect(readsHistory).not.toHaveBeenCalled();
    readsHistory.mockRestore();
    expect(merged.action).toBe('merged');
    expect(merged.pushed).toBe(true);
    await sync(laptop);
    for (const repo of [laptop, desktop]) {
      expect(await repo.get('environments')).toEqual({ dev: { namespace: 'dev-laptop' }, qa: { namespace: 'qa-desktop' } });
      assertRepoHealthy(repo.dir);
    }
    expect(headOid(laptop.dir)).toBe(headOid(desktop.dir));
    expect(git(desktop.dir, 'log', '-1', '--format=%p').trim().split(' ')).toHaveLength(2);
  });

  it("the merged YAML keeps the local file's comments and formatting", async () => {
    const { laptop, desktop } = await twoMachines('comments');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(desktop.dir, 'knowledge.yaml'), '# facts we learned\nci:  # the build\n  runner: linux   # since May\n\ndb: postgres\n');
    git(desktop.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'commented by hand');
    await sync(desktop);
    await sync(laptop);
    await laptop.set('knowledge', 'db', 'postgres 16');
    await desktop.set('knowledge', 'cache', 'redis');
    await sync(laptop);
    await sync(desktop);
    expect(await readFile(join(desktop.dir, 'knowledge.yaml'), 'utf8')).toBe('# facts we learned\nci:  # the build\n  runner: linux   # since May\n\ndb: postgres 16\ncache: redis\n');
  });

  it('a pull never overwrites a file edited by hand: the edit is committed first and merged', async () => {
    const { laptop, desktop } = await twoMachines('handedit');
    await laptop.set('knowledge', 'from_laptop', 1);
    await sync(laptop);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(desktop.dir, 'knowledge.yaml'), 'typed_by_hand: yes\n');
    const r = await pull(desktop);
    expect(r.action).toBe('merged');
    expect(await desktop.get('knowledge')).toEqual({ typed_by_hand: 'yes', from_laptop: 1 });
    expect(git(desktop.dir, 'log', '--format=%s', '-3')).toContain('recover uncommitted changes to knowledge.yaml before merging the remote');
    assertRepoHealthy(desktop.dir);
  });

  itFull('clone works into the embedded default ./state, which holds only its README', async () => {
    const { url } = await twoMachines('readme');
    const dir = join(await tempDir(), 'state');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(join(dir, 'README.md'), '# the project readme\n');
    const repo = await cloneRepo(url, dir);
    expect(await repo.get('current_work')).toBeTruthy();
    assertRepoHealthy(dir);
    await expect(cloneRepo(url, dir)).rejects.toThrow(/not empty/);
    // An empty remote is seeded from here: the project's README stays out of it.
    const emptyUrl = gitServer().createRepo('readme-empty.git');
    const seeded = join(await tempDir(), 'state');
    await mkdir(seeded);
    await writeFile(join(seeded, 'README.md'), '# the project readme\n');
    await cloneRepo(emptyUrl, seeded);
    expect(git(seeded, 'ls-files')).not.toContain('README.md');
    assertRepoHealthy(seeded);
  });

  it('a real conflict is resolved by the strategy and the losing value is kept in a conflict record', async () => {
    const { laptop, desktop } = await twoMachines('conflict');
    await laptop.set('knowledge', 'owner', 'laptop');
    await desktop.set('knowledge', 'owner', 'desktop');
    await sync(laptop);
    const readsHistory = vi.spyOn(HistoryIndex.prototype, 'update');
    const r = await sync(desktop, { strategy: 'ours' });
    expect(readsHistory).toHaveBeenCalled(); // the record names who wrote each side's value
    readsHistory.mockRestore();
    expect(r.conflicts).toMatchObject([{ file: 'knowledge.yaml', key: 'owner', kept: 'ours', ours: { value: 'desktop' }, theirs: { value: 'laptop' } }]);
    expect(await desktop.get('knowledge', 'owner')).toBe('desktop');
    const records = parse(await readFile(join(desktop.dir, '.gitstate/conflicts.yaml'), 'utf8')) as { conflicts: Array<{ theirs: { value: unknown } }> };
    expect(records.conflicts[0]!.theirs.value).toBe('laptop');
    expect(git(desktop.dir, 'ls-files', '.gitstate')).toContain('.gitstate/conflicts.yaml');
  });

  it('a push that fails after the merge still reports the conflict the merge resolved: in the error, its message and its data', async () => {
    const { laptop, desktop } = await twoMachines('conflict-then-refused');
    await laptop.set('knowledge', 'owner', 'laptop');
    await sync(laptop);
    await desktop.set('knowledge', 'owner', 'desktop');
    const hook = join(gitServer().root, 'conflict-then-refused.git', 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\ncat >/dev/null\necho "not today" >&2\nexit 1\n', { mode: 0o755 });
    const err = await sync(desktop, { strategy: 'ours' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRefusedError);
    expect((err as Error).message).toMatch(/refused: .*; before it, this sync merged origin and resolved a conflict: knowledge\.yaml owner kept ours \(ours\); the other values are in \.gitstate\/conflicts\.yaml$/);
    expect((err as PushRefusedError).data.conflicts).toMatchObject([{ file: 'knowledge.yaml', key: 'owner', kept: 'ours', theirs: { value: 'laptop' } }]);
    // the CLI's one line says the same, for the next conflict
    rmSync(hook);
    await laptop.set('knowledge', 'owner', 'laptop again');
    expect((await sync(laptop)).pushed).toBe(true);
    writeFileSync(hook, '#!/bin/sh\ncat >/dev/null\nexit 1\n', { mode: 0o755 });
    await desktop.set('knowledge', 'owner', 'desktop again');
    const r = await cli(['sync', '--strategy', 'ours'], { dir: desktop.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gitstate: push to origin .* refused: .*resolved a conflict: knowledge\.yaml owner kept ours \(ours\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--strategy manual leaves the repo as it was and exits 4', async () => {
    const { laptop, desktop } = await twoMachines('manual');
    await laptop.set('knowledge', 'x', 1);
    await desktop.set('knowledge', 'x', 2);
    await sync(laptop);
    const head = headOid(desktop.dir);
    const err = await sync(desktop, { strategy: 'manual' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/knowledge\.yaml: x/);
    expect(headOid(desktop.dir)).toBe(head);
    expect(await desktop.get('knowledge', 'x')).toBe(2);
    assertRepoHealthy(desktop.dir);
    expect((await syncStatus(desktop)).lastError).toMatch(/left for you/);
  });

  it('syncs started at once in one process (an MCP server) run one after another, and all succeed', async () => {
    const { laptop, desktop } = await twoMachines('parallel');
    await laptop.set('knowledge', 'from', 'laptop');
    await sync(laptop);
    await desktop.set('knowledge', 'mine', 'desktop');
    const results = await Promise.allSettled([sync(desktop), sync(desktop), pull(desktop), sync(desktop)]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await desktop.get('knowledge')).toMatchObject({ from: 'laptop', mine: 'desktop' });
    assertRepoHealthy(desktop.dir);
  });

  it("a fetch that lost the tracking ref's lock to another process's fetch is made again", async () => {
    const { laptop, desktop } = await twoMachines('refrace');
    await laptop.set('knowledge', 'from', 'laptop');
    await sync(laptop);
    // a git whose first fetch fails as git does when another fetch moved the ref under it
    const shim = await tempDir();
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const marker = join(shim, 'failed-once');
    writeFileSync(
      join(shim, 'git'),
      `#!/bin/sh\nif [ "$1" = fetch ] && [ ! -e ${marker} ]; then : > ${marker}; echo "error: cannot lock ref 'refs/remotes/origin/main': is at 1111111111111111111111111111111111111111 but expected 2222222222222222222222222222222222222222" >&2; exit 1; fi\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    const r = await cli(['pull'], { dir: desktop.dir, env: { PATH: `${shim}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
    expect(await desktop.get('knowledge', 'from')).toBe('laptop');
  });

  itFull('status shows ahead and behind, and a dead remote fails within the timeout', async () => {
    const { laptop, desktop } = await twoMachines('status');
    await laptop.set('knowledge', 'a', 1);
    await laptop.set('knowledge', 'b', 1);
    expect(await syncStatus(laptop)).toMatchObject({ remote: 'origin', ahead: 2, behind: 0, lastError: null });
    await sync(laptop);
    await pull(desktop).catch(() => undefined);
    gitServer().fault = 'hang';
    const t = Date.now();
    await expect(sync(laptop, { timeoutMs: 500 })).rejects.toThrow(/did not answer within 500 ms/);
    expect(Date.now() - t).toBeLessThan(3000);
    gitServer().fault = 'error';
    await expect(sync(laptop, { timeoutMs: 2000 })).rejects.toThrow(/HTTP 500|failed/);
    gitServer().fault = 'none';
    await expect(sync(laptop)).resolves.toMatchObject({ remote: 'origin' });
  });

  it('refuses URLs with credentials', async () => {
    const repo = await tempRepo();
    await expect(addRemote(repo, 'origin', 'https://user:secret@example.com/x.git')).rejects.toThrow(UsageError);
    expect(await readFile(join(repo.gitdir, 'config'), 'utf8')).not.toContain('secret');
  });
});

/** A state repo synced to a new bare repository on disk (a local path remote, through the system git). */
async function syncedToBareRepo(): Promise<{ bare: string; a: StateRepo }> {
  const bare = join(await tempDir(), 'remote.git');
  git(await tempDir(), 'init', '-q', '--bare', '-b', 'main', bare);
  const a = await tempRepo();
  await addRemote(a, 'origin', bare);
  await sync(a);
  return { bare, a };
}

describe('a clone killed before it finished', () => {
  itFull('leaves nothing a retry refuses: the retry clones; a repo that is not a killed clone still refuses', async () => {
    const { bare, a } = await syncedToBareRepo();
    for (let i = 0; i < 30; i++) await a.set(`projects/p${i}/current_work`, 'n', i);
    await sync(a);
    const dir = join(await tempDir(), 'state');
    // killed (as by Ctrl-C or kill -9) once the clone has made its .git, before it pulled
    const child = spawn(process.execPath, [CLI, '--dir', dir, 'clone', bare], { stdio: 'ignore', env: { ...process.env, GITSTATE_CRASH_AT: 'clone-marked' } });
    await new Promise((resolve) => child.on('exit', resolve));
    expect(child.signalCode).toBe('SIGKILL');
    expect(existsSync(join(dir, '.git'))).toBe(true);
    const mark = join(dir, '.git', 'gitstate-clone-unfinished');
    // a clone still running (its mark names a live process) is not taken for a leftover
    const killed = readFileSync(mark, 'utf8');
    writeFileSync(mark, JSON.stringify({ ...JSON.parse(killed), pid: process.pid }));
    await expect(cloneRepo(bare, dir)).rejects.toThrow(/not empty/);
    writeFileSync(mark, killed);
    const b = await cloneRepo(bare, dir);
    expect(await b.get('projects/p29/current_work', 'n')).toBe(29);
    expect(existsSync(mark)).toBe(false);
    assertRepoHealthy(dir);
    // killed later, its pull's files in place and the branch not moved yet: those files are put back
    const late = join(await tempDir(), 'state');
    const lateChild = spawn(process.execPath, [CLI, '--dir', late, 'clone', bare], { stdio: 'ignore', env: { ...process.env, GITSTATE_CRASH_AT: 'renamed' } });
    await new Promise((resolve) => lateChild.on('exit', resolve));
    expect(lateChild.signalCode).toBe('SIGKILL');
    expect(existsSync(join(late, 'projects/p29/current_work.yaml'))).toBe(true);
    expect(await (await cloneRepo(bare, late)).get('projects/p29/current_work', 'n')).toBe(29);
    assertRepoHealthy(late);
    // two clones into one new folder at once: one makes it, the other stops without touching it
    const shared = join(await tempDir(), 'state');
    const both = await Promise.allSettled([cloneRepo(bare, shared), cloneRepo(bare, shared)]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(String((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/another clone is making it|not empty/);
    expect(await (await StateRepo.open(shared)).get('projects/p29/current_work', 'n')).toBe(29);
    assertRepoHealthy(shared);
    // someone's own repository (no mark) is never taken for a leftover
    const other = join(await tempDir(), 'state');
    git(await tempDir(), 'init', '-q', '-b', 'main', other);
    await expect(cloneRepo(bare, other)).rejects.toThrow(/not empty/);
    expect(existsSync(join(other, '.git/HEAD'))).toBe(true);
  });
});

describe('a push rejected every time', () => {
  it('sync merges and pushes again, then says how many pushes the moving remote rejected', async () => {
    const { bare, a } = await syncedToBareRepo();
    hookMovingMain(bare, { always: true });
    await a.set('knowledge', 'mine', 1);
    const clock = new FakeClock();
    const err = (await sync(a, { retries: 2, clock, random: () => 0.5 }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('PUSH_REJECTED');
    expect(err.message).toMatch(/rejected: its main moved .*\(gave up after 3 rejected pushes: the remote kept moving; run sync again\)$/);
    // a wait before each fetch again, its bound doubling; none after the last rejection
    expect(clock.sleeps).toEqual([100, 200]);
    expect(await a.get('knowledge', 'mine')).toBe(1);
    assertRepoHealthy(a.dir);
  });

  it('a retry whose fetch fails still reports the conflict an earlier attempt resolved', async () => {
    const { bare, a } = await syncedToBareRepo();
    const b = await cloneRepo(bare, join(await tempDir(), 'state'));
    await b.set('knowledge', 'owner', 'b');
    await sync(b);
    await a.set('knowledge', 'owner', 'a');
    hookMovingMain(bare, { always: true });
    // between the rejected push and the retry's fetch, the remote goes away
    const clock = new FakeClock();
    clock.sleep = async () => renameSync(bare, `${bare}.gone`);
    const err = (await sync(a, { retries: 2, clock, strategy: 'ours' }).catch((e: unknown) => e)) as Error & { data?: { conflicts?: unknown[] } };
    expect(err.message).toMatch(/; before it, this sync merged origin and resolved a conflict: knowledge\.yaml owner kept ours \(ours\); the other values are in \.gitstate\/conflicts\.yaml$/);
    expect(err.data?.conflicts).toHaveLength(1);
    expect(await a.get('knowledge', 'owner')).toBe('a');
  });

  it('waits a random time up to a bound that doubles from 200 ms to 3.2 s, so machines that crossed fall out of step', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((attempt) => retryWait(attempt, () => 0.999))).toEqual([199, 399, 799, 1598, 3196, 3196, 3196]);
    expect(retryWait(3, () => 0)).toBe(0);
  });

  it('a push taken at once waits for nothing', async () => {
    const { a } = await syncedToBareRepo();
    await a.set('knowledge', 'mine', 1);
    const clock = new FakeClock();
    expect((await sync(a, { clock })).pushed).toBe(true);
    expect(clock.sleeps).toEqual([]);
  });
});

describe("the server's own lines in git's output", () => {
  it('are found when one arrives while a progress line is drawn (after its carriage return), progress left out', () => {
    const stderr = 'Writing objects:  50% (1/2)\rremote: main is protected: pushes need a review\nWriting objects: 100% (2/2), done.\nremote: Resolving deltas: 100% (1/1)\nremote: second line\n';
    expect(serverLines(stderr)).toBe('main is protected: pushes need a review; second line');
  });
});

describe('a branch named with --branch', () => {
  it('that the remote lacks is made by the first sync (the remote keeps its other branches); clone of it is an error', async () => {
    const { bare } = await syncedToBareRepo();
    const main = git(bare, 'rev-parse', 'main').trim();
    const b = await tempRepo();
    await addRemote(b, 'origin', bare, { branch: 'dev' });
    await b.set('knowledge', 'on', 'dev');
    const r = await sync(b);
    expect(r).toMatchObject({ pushed: true, remoteWasEmpty: true });
    expect(git(bare, 'rev-parse', 'dev').trim()).toBe(headOid(b.dir));
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(main);
    await expect(cloneRepo(bare, join(await tempDir(), 'state'), { branch: 'nosuch' })).rejects.toThrow(/has no branch nosuch; it has (main, dev|dev, main)/);
    const clone = await cloneRepo(bare, join(await tempDir(), 'state'), { branch: 'dev' });
    expect(await clone.get('knowledge', 'on')).toBe('dev');
  });
});

describe('a remote without main', () => {
  it("names its branches with the one its HEAD names first, and suggests that one", async () => {
    const bare = join(await tempDir(), 'remote.git');
    git(await tempDir(), 'init', '-q', '--bare', '-b', 'master', bare);
    const work = await tempDir();
    git(work, 'init', '-q', '-b', 'master');
    git(work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'one');
    for (const branch of ['master', 'dev', 'release']) git(work, 'push', '-q', bare, `master:refs/heads/${branch}`);
    const err = await cloneRepo(bare, join(await tempDir(), 'state')).catch((e: unknown) => e as Error);
    expect(err.message).toMatch(/has no branch main; it has master, dev, release\. Track one with --branch \(gitstate clone URL --branch master,/);
  });
});

describe('sync through the system git (local path remote)', () => {
  it('pushes and pulls a bare repository on disk', async () => {
    const { bare, a } = await syncedToBareRepo();
    await a.set('knowledge', 'via', 'local path');
    await sync(a);
    const b = await cloneRepo(bare, join(await tempDir(), 'state'));
    expect(await b.get('knowledge', 'via')).toBe('local path');
    await b.set('knowledge', 'back', true);
    await sync(b);
    await sync(a);
    expect(await a.get('knowledge', 'back')).toBe(true);
    assertRepoHealthy(a.dir);
  });
});

describe('secrets arriving by a fast-forward', () => {
  it('are judged by the allow-list the same pull brought', async () => {
    const { laptop, desktop } = await twoMachines('allow');
    await laptop.write('.gitstate/secrets-allow.yaml', 'knowledge.yaml:\n  - docs.password\n');
    await laptop.set('knowledge', 'docs.password', 'see the vault');
    await push(laptop);
    const pulled = await pull(desktop);
    expect(pulled.action).toBe('fast-forward');
    expect(pulled.secrets).toEqual([]);
  });
});

describe('merges that would break a schema', () => {
  it('count as a conflict: the winning side is kept whole and the other recorded', async () => {
    const url = gitServer().createRepo('schema.git');
    const a = await tempRepo();
    await addRemote(a, 'origin', url);
    await a.set('current_work', 'active_issues', [{ key: 'A', status: 'Open' }]);
    await sync(a);
    const b = await cloneRepo(url, join(await tempDir(), 'state'));
    // Each side alone is valid; merged key by key the issue would lose its key field.
    await a.set('current_work', 'active_issues', [{ key: 'A', status: 'Open', summary: 'kept' }]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(b.dir, 'current_work.yaml'), 'active_issues:\n  - key: A\n    status: Open\n  - status: broken by hand\n');
    git(b.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', 'a bad item, by hand');
    await sync(a);
    const r = await sync(b, { strategy: 'theirs' });
    expect(r.conflicts.some((c) => c.file === 'current_work.yaml' && c.key === '(whole file)')).toBe(true);
    expect(await b.get('current_work', 'active_issues')).toEqual([{ key: 'A', status: 'Open', summary: 'kept' }]);
    assertRepoHealthy(b.dir);
  });
});
