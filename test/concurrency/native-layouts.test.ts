/**
 * Repositories native git left in a state a write must not run in, or in an
 * index layout gitstate cannot rewrite whole: HEAD detached or on another
 * branch (also beside a long-running process), a rebase in progress, a split
 * index, an index in version 4, a sparse checkout. Each write is refused with
 * one line that says what and how out, nothing is committed, and no file
 * leaves HEAD or git's index.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { assertRepoHealthy, cli, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';

const files = (dir: string, rev = 'HEAD') => git(dir, 'ls-tree', '-r', '--name-only', rev).trim().split('\n').sort();

/** A state repo with a few files committed, and what HEAD holds. */
async function repoWithFiles(): Promise<{ dir: string; tracked: string[] }> {
  const repo = await tempRepo();
  await repo.set('environments', 'dev', { namespace: 'd' });
  await repo.set('knowledge', 'a', 1);
  return { dir: repo.dir, tracked: files(repo.dir) };
}

describe('HEAD must name main', () => {
  it('on another branch, a write is refused and main does not move; status says why', async () => {
    const { dir } = await repoWithFiles();
    const main = git(dir, 'rev-parse', 'main').trim();
    git(dir, 'switch', '-q', '-c', 'feature');
    const r = await cli(['set', 'knowledge', 'k', '1'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^gitstate: HEAD in .* is on branch feature; gitstate keeps its state on main: switch back to it \(git -C .* switch main\)$/);
    expect(git(dir, 'rev-parse', 'main').trim()).toBe(main);
    expect(git(dir, 'rev-parse', 'feature').trim()).toBe(main);
    const status = await cli(['status'], { dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/HEAD: +HEAD in .* is on branch feature.*; writes are refused until then/);
    git(dir, 'switch', '-q', 'main');
    expect((await cli(['set', 'knowledge', 'k', '1'], { dir })).code).toBe(0);
    assertRepoHealthy(dir);
  });

  it('a long-running process sees HEAD detached after it opened the repo, and refuses', async () => {
    const { dir } = await repoWithFiles();
    const repo = await StateRepo.open(dir);
    await repo.set('knowledge', 'before', 1);
    const main = git(dir, 'rev-parse', 'main').trim();
    git(dir, 'checkout', '-q', '--detach', 'HEAD~1');
    await expect(repo.set('knowledge', 'after', 2)).rejects.toThrow(/HEAD in .* is detached; gitstate writes to main/);
    expect(git(dir, 'rev-parse', 'main').trim()).toBe(main);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('an interrupted write is not put back while HEAD is elsewhere: its files stay as they are until HEAD names main', async () => {
    const { dir } = await repoWithFiles();
    const crashed = await cli(['set', 'knowledge', 'a', '2'], { dir, env: { GITSTATE_CRASH_AT: 'renamed' } });
    expect(crashed.code).not.toBe(0);
    const left = readFileSync(join(dir, 'knowledge.yaml'), 'utf8');
    expect(left).toMatch(/^a: 2$/m);
    // (the killed write left git's index.lock: HEAD is moved as far as git lets one, by itself)
    git(dir, 'update-ref', '--no-deref', 'HEAD', headOid(dir));
    const refused = await cli(['set', 'knowledge', 'b', '1'], { dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HEAD in .* is detached/);
    // untouched: neither put back to main's content nor written
    expect(readFileSync(join(dir, 'knowledge.yaml'), 'utf8')).toBe(left);
    git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    expect((await cli(['set', 'knowledge', 'b', '1'], { dir })).code).toBe(0);
    expect(await (await StateRepo.open(dir)).get('knowledge')).toEqual({ a: 1, b: 1 });
    assertRepoHealthy(dir);
  });

  it('state set is refused likewise, with its own error, and writes nothing (no pending changes set aside)', async () => {
    const { dir } = await repoWithFiles();
    git(dir, 'checkout', '-q', '--detach');
    const r = await cli(['--json', 'state', 'set', 'persona', 'x'], { dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'REPO', message: expect.stringMatching(/is detached/) });
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('a rebase in progress is named as such', async () => {
    const { dir } = await repoWithFiles();
    git(dir, 'switch', '-q', '-c', 'side', 'HEAD~1');
    writeFileSync(join(dir, 'knowledge.yaml'), 'a: side\n');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-am', 'side');
    // a conflicting rebase stops half-way
    expect(() => git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'rebase', '-q', 'main')).toThrow();
    const r = await cli(['set', 'environments', 'x', '1'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a rebase is in progress in .*; gitstate writes to main once it is over \(git -C .* rebase --continue, or --abort\)/);
  });
});

describe('index layouts a write cannot rewrite whole', () => {
  it('a split index: refused, with the command that makes it whole; nothing leaves HEAD', async () => {
    const { dir, tracked } = await repoWithFiles();
    git(dir, 'config', 'core.splitIndex', 'true');
    git(dir, 'update-index', '--split-index');
    const head = headOid(dir);
    const r = await cli(['set', 'knowledge', 'b', '2'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^gitstate: the index is split \(core\.splitIndex\).*; nothing was committed\. git -C .* config core\.splitIndex false && git -C .* update-index --no-split-index$/);
    expect(headOid(dir)).toBe(head);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    git(dir, 'config', 'core.splitIndex', 'false');
    git(dir, 'update-index', '--no-split-index');
    expect((await cli(['set', 'knowledge', 'b', '2'], { dir })).code).toBe(0);
    expect(files(dir)).toEqual(tracked);
    assertRepoHealthy(dir);
  });

  it('an index in version 4: refused likewise; status says so too', async () => {
    const { dir, tracked } = await repoWithFiles();
    git(dir, 'update-index', '--index-version', '4');
    const head = headOid(dir);
    const r = await cli(['set', 'knowledge', 'b', '2'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^gitstate: the index is in version 4, which gitstate does not write; nothing was committed\. git -C .* config index\.version 2 && git -C .* update-index --index-version 2$/);
    expect(headOid(dir)).toBe(head);
    const status = await cli(['status'], { dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^index: +the index is in version 4, which gitstate does not write\. git -C .* update-index --index-version 2$/m);
    git(dir, 'update-index', '--index-version', '2');
    expect((await cli(['set', 'knowledge', 'b', '2'], { dir })).code).toBe(0);
    expect(files(dir)).toEqual(tracked);
    assertRepoHealthy(dir);
  });

  it('init adopting a repo whose index git wrote split and in version 4 has git write it whole', async () => {
    const dir = join(await tempDir(), 'state');
    git(await tempDir(), 'init', '-q', '-b', 'main', dir);
    writeFileSync(join(dir, 'knowledge.yaml'), 'a: 1\n');
    writeFileSync(join(dir, 'other.yaml'), 'b: 2\n');
    git(dir, 'add', '-A');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'mine');
    git(dir, 'update-index', '--split-index', '--index-version', '4');
    const init = await cli(['init'], { dir });
    expect(init.code, init.stderr).toBe(0);
    expect((await cli(['set', 'knowledge', 'c', '3'], { dir })).code).toBe(0);
    expect(files(dir)).toContain('other.yaml');
    assertRepoHealthy(dir);
  });

  it('a file outside a sparse checkout: its write is refused, its content stays in HEAD; files inside are written', async () => {
    const { dir, tracked } = await repoWithFiles();
    const environments = git(dir, 'show', 'HEAD:environments.yaml');
    git(dir, 'sparse-checkout', 'set', '--no-cone', '/*', '!/environments.yaml');
    const head = headOid(dir);
    const r = await cli(['set', 'environments', 'x', '1'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^gitstate: environments\.yaml is outside the sparse checkout \(skip-worktree\): .*; nothing was (written|committed)\. Bring it in \(git -C .* sparse-checkout add \/environments\.yaml, in a checkout without cone mode\), or end the sparse checkout/);
    expect(headOid(dir)).toBe(head);
    expect(git(dir, 'show', 'HEAD:environments.yaml')).toBe(environments);
    expect((await cli(['set', 'knowledge', 'b', '2'], { dir })).code).toBe(0);
    expect(files(dir)).toEqual(tracked);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    // the fix it names works as printed
    git(dir, 'sparse-checkout', 'add', '/environments.yaml');
    expect((await cli(['set', 'environments', 'x', '1'], { dir })).code).toBe(0);
    git(dir, 'sparse-checkout', 'disable');
    expect((await cli(['set', 'environments', 'y', '2'], { dir })).code).toBe(0);
    expect(await (await StateRepo.open(dir)).get('environments')).toEqual({ dev: { namespace: 'd' }, x: 1, y: 2 });
    assertRepoHealthy(dir);
  });
});

describe('line endings git converted at checkout', () => {
  it('a clone made by git under core.autocrlf: a write is refused, not committed as a change of every line; the way out works', async () => {
    const { dir: origin } = await repoWithFiles();
    const dir = join(await tempDir(), 'clone');
    git(await tempDir(), 'clone', '-q', '-c', 'core.autocrlf=true', origin, dir);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    const head = headOid(dir);
    const r = await cli(['set', 'knowledge', 'b', '2'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^gitstate: knowledge\.yaml differs from HEAD only in its line endings \(CRLF on disk, LF committed\): git's core\.autocrlf converted it at checkout.*nothing was written\. Turn it off for this repo and check the file out again: gitstate --dir .* init && git -C .* checkout HEAD -- knowledge\.yaml$/);
    expect(headOid(dir)).toBe(head);
    expect((await cli(['init', '-q'], { dir })).code).toBe(0);
    git(dir, 'checkout', 'HEAD', '--', 'knowledge.yaml');
    expect((await cli(['set', 'knowledge', 'b', '2'], { dir })).code).toBe(0);
    expect(git(dir, 'show', 'HEAD:knowledge.yaml')).not.toContain('\r');
    expect(git(dir, 'show', '--numstat', '--format=', 'HEAD').trim()).toBe('1\t0\tknowledge.yaml');
  });
});
