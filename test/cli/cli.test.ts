import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, cli, CLI, commitCount, git, headOid, ROOT, tempDir } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';

afterAll(cleanupTempDirs);

let dir: string;
beforeAll(async () => {
  dir = join(await tempDir(), 'state');
  const init = await cli(['init'], { dir });
  expect(init.code).toBe(0);
});

/**
 * The commands run in-process (program.ts's main, what the binary runs): a child
 * process per call costs ~250 ms. The binary itself runs init above, the help
 * and discovery cases below, and test/cli/errors.test.ts compares the two.
 */
const run = runMain;

describe('gitstate CLI', () => {
  it('init is idempotent and says so', async () => {
    const head = headOid(dir);
    const again = await run(['init'], { dir });
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('already initialized') });
    expect(headOid(dir)).toBe(head);
    const json = await run(['init', '--json'], { dir });
    expect(JSON.parse(json.stdout)).toMatchObject({ dir: expect.any(String), created: false, commit: null, adopted: [], excluded: [] });
  });

  it('set/get with YAML values, --string, and --json', async () => {
    expect((await run(['set', 'knowledge', 'n', '42'], { dir })).stdout.trim()).toBe(headOid(dir));
    expect(JSON.parse((await run(['get', 'knowledge', 'n', '--json'], { dir })).stdout)).toBe(42);
    await run(['set', 'knowledge', 'v', '1.10', '--string'], { dir });
    expect((await run(['get', 'knowledge', 'v', '--json'], { dir })).stdout.trim()).toBe('"1.10"');
    await run(['set', 'knowledge', 'm', '{a: 1, b: [x, y]}'], { dir });
    expect(JSON.parse((await run(['get', '--json', 'knowledge', 'm'], { dir })).stdout)).toEqual({ a: 1, b: ['x', 'y'] });
    expect((await run(['get', 'knowledge', 'm'], { dir })).stdout).toBe('a: 1\nb:\n  - x\n  - y\n');
    const json = JSON.parse((await run(['--json', 'set', 'knowledge', 'n', '43'], { dir })).stdout);
    expect(json).toEqual({ commit: headOid(dir), changed: true, files: ['knowledge.yaml'] });
    assertRepoHealthy(dir);
  });

  it('append, merge, delete, write from stdin, with a -m note and --author', async () => {
    const r = await run(['append', 'current_work', 'active_issues', '{key: AAP-7, status: Open}', '-m', 'picked up in standup', '--author', 'Ada <ada@example.com>'], { dir });
    expect(r.code).toBe(0);
    expect(git(dir, 'log', '-1', '--format=%an <%ae>%n%B')).toMatch(/^Ada <ada@example.com>\nappend current_work.yaml active_issues\n\npicked up in standup\n\nGitstate-Op: append/);
    await run(['merge', 'environments', 'dev', '{namespace: dev-ns}'], { dir });
    await run(['merge', 'environments', '{qa: {namespace: qa-ns}}'], { dir });
    expect(JSON.parse((await run(['get', 'environments', '--json'], { dir })).stdout)).toEqual({ dev: { namespace: 'dev-ns' }, qa: { namespace: 'qa-ns' } });
    await run(['delete', 'current_work', 'active_issues[key=AAP-7]'], { dir });
    expect(JSON.parse((await run(['get', 'current_work', 'active_issues', '--json'], { dir })).stdout)).toEqual([]);
    expect((await run(['write', 'notes/today'], { dir, input: '# kept\nitems: [1]\n' })).code).toBe(0);
    expect(await readFile(join(dir, 'notes/today.yaml'), 'utf8')).toBe('# kept\nitems: [1]\n');
    assertRepoHealthy(dir);
  });

  it('batch: one commit per line, or one in all with --atomic', async () => {
    const lines = [
      { op: 'set', file: 'knowledge', key: 'b1', value: 1 },
      { op: 'append', file: 'knowledge', key: 'b2', value: 'x' },
      { op: 'merge', file: 'knowledge', key: 'b3', value: { y: 2 } },
    ].map((l) => JSON.stringify(l)).join('\n');
    let before = commitCount(dir);
    const plain = await run(['batch', '--json'], { dir, input: lines });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).results).toHaveLength(3);
    expect(commitCount(dir)).toBe(before + 3);
    before = commitCount(dir);
    const atomic = await run(['batch', '--atomic'], { dir, input: lines.replace(/b(\d)/g, 'c$1') });
    expect(atomic.code).toBe(0);
    expect(commitCount(dir)).toBe(before + 1);
    expect(atomic.stdout.trim()).toBe(headOid(dir));
  });

  it('ls, validate and status', async () => {
    expect((await run(['ls'], { dir })).stdout).toContain('current_work.yaml\nenvironments.yaml\nknowledge.yaml\nnotes/today.yaml\nshared_context.yaml');
    const validate = await run(['validate', '--json'], { dir });
    expect(validate.code).toBe(0);
    expect(JSON.parse(validate.stdout).every((r: { ok: boolean }) => r.ok)).toBe(true);
    const status = JSON.parse((await run(['status', '--json'], { dir })).stdout);
    expect(status).toMatchObject({ branch: 'main', head: headOid(dir), clean: true, changes: [] });
    await writeFile(join(dir, 'shared_context.yaml'), 'a: [\n');
    const bad = await run(['validate'], { dir });
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(/invalid  invalid YAML in shared_context.yaml at line \d+/);
    const dirty = JSON.parse((await run(['status', '--json'], { dir })).stdout);
    expect(dirty).toMatchObject({ clean: false, changes: [{ path: 'shared_context.yaml', status: ' M' }] });
    git(dir, 'checkout', '--', 'shared_context.yaml');
  });

  it('errors: one line, documented exit code, JSON with --json', async () => {
    const missing = await run(['get', 'knowledge', 'nope'], { dir });
    expect(missing).toMatchObject({ code: 3, stdout: '', stderr: 'gitstate: no value at nope in knowledge.yaml\n' });
    const json = await run(['get', 'knowledge', 'nope', '--json'], { dir });
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: 'no value at nope in knowledge.yaml' } });
    expect((await run(['frobnicate'], { dir })).code).toBe(2);
    expect((await run(['set', 'knowledge'], { dir })).code).toBe(2);
    const noRepo = await run(['get', 'knowledge'], { dir: join(dir, 'nope') });
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('every command has --help with examples and the global options', async () => {
    const commands = ['init', 'get', 'set', 'append', 'delete', 'merge', 'write', 'ls', 'validate', 'batch', 'commit', 'status', 'flush'];
    commands.push('log', 'show', 'diff', 'blame', 'rollback', 'revert', 'undo', 'state get', 'state set', 'state delete', 'state reset');
    commands.push('remote add', 'remote remove', 'remote list', 'clone', 'pull', 'push', 'sync', 'conflicts', 'context', 'mcp', 'hooks install', 'gc');
    for (const command of commands) {
      const help = await runMain([...command.split(' '), '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/Examples:\n {2}\$ .*gitstate /);
      expect(help.stdout, command).toMatch(/Global Options:[\s\S]*--dir <dir>[\s\S]*-q, --quiet +print only what was asked for/);
    }
    // the binary prints the same help
    expect((await cli(['get', '--help'])).stdout).toBe((await runMain(['get', '--help'])).stdout);
  });

  it('finds the state dir from GITSTATE_DIR, else ./state', async () => {
    expect((await cli(['get', 'knowledge', 'n'], { env: { GITSTATE_DIR: dir } })).stdout.trim()).toBe('43');
    const cwd = join(dir, '..');
    const out = execFileSync(process.execPath, [CLI, 'get', 'knowledge', 'n'], { cwd, env: { ...process.env, GITSTATE_DIR: '' }, encoding: 'utf8' });
    expect(out.trim()).toBe('43');
  });
});

describe('a write stopped by Ctrl-C holding git\'s locks', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: the process removes index.lock and main.lock as it dies, so native git goes on at once`, async () => {
      const repo = join(await tempDir(), 'state');
      expect((await cli(['init', '-q'], { dir: repo })).code).toBe(0);
      // stopped once it holds both git locks, before the branch moves
      const child = spawn(process.execPath, [CLI, '--dir', repo, 'set', 'knowledge', 'stopped', '1'], {
        env: { ...process.env, GITSTATE_DIR: '', GITSTATE_CRASH_AT: 'locked', GITSTATE_CRASH_SIGNAL: signal },
        stdio: 'ignore',
      });
      await new Promise((resolve) => child.on('close', resolve));
      expect(child.signalCode).toBe(signal);
      expect(existsSync(join(repo, '.git/index.lock'))).toBe(false);
      expect(existsSync(join(repo, '.git/refs/heads/main.lock'))).toBe(false);
      git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '--no-verify', '-m', 'native, right after');
      expect((await cli(['set', 'knowledge', 'after', '1'], { dir: repo })).code).toBe(0);
      assertRepoHealthy(repo);
    });
  }
});

describe('a batch stopped half-way', () => {
  it('has printed the id of each commit it made, as it made it', async () => {
    const repo = join(await tempDir(), 'state');
    expect((await cli(['init', '-q'], { dir: repo })).code).toBe(0);
    const ops = Array.from({ length: 400 }, (_, i) => JSON.stringify({ op: 'append', file: 'knowledge', key: 'log', value: i })).join('\n');
    const child = spawn(process.execPath, [CLI, '--dir', repo, 'batch'], { env: { ...process.env, GITSTATE_DIR: '' }, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.end(ops);
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.split('\n').length > 3) {
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on('close', resolve));
    expect(child.signalCode).toBe('SIGINT'); // stopped before the end: the ids came as it went
    const printed = out.trim().split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l));
    expect(printed.length).toBeGreaterThanOrEqual(3);
    expect(printed.length).toBeLessThan(400);
    const logged = new Set(git(repo, 'log', '--format=%H').trim().split('\n'));
    for (const id of printed) expect(logged.has(id)).toBe(true);
    // the next write finds nothing in its way: no git lock the stopped batch held is left behind
    expect((await cli(['set', 'knowledge', 'after', '1'], { dir: repo })).code).toBe(0);
    assertRepoHealthy(repo);
  });
});

describe('the embedded ./state of this project', () => {
  it("running gitstate on a copy leaves the project's own git status clean", async () => {
    // A copy of the project's tracked files, as a fresh clone would have them.
    const clone = join(await tempDir(), 'project');
    execFileSync('git', ['clone', '-q', '--no-hardlinks', ROOT, clone]);
    await cp(join(ROOT, 'state/README.md'), join(clone, 'state/README.md'));
    const run = (args: string[]) => execFileSync(process.execPath, [CLI, ...args], { cwd: clone, env: { ...process.env, GITSTATE_DIR: '' }, encoding: 'utf8' });
    run(['init']);
    run(['set', 'knowledge', 'x', '1']);
    expect(git(clone, 'status', '--porcelain')).toBe('');
    assertRepoHealthy(join(clone, 'state'));
  });
});
