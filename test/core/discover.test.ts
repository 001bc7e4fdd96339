/**
 * Which state repo a command means: --dir, GITSTATE_DIR, the nearest state
 * repo at or above the cwd (as git finds its repo), else ./state; ~ expanded.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseStateDir, expandHome, stateRepoKind } from '../../src/core/discover.js';
import { FORMAT_FILE } from '../../src/core/format.js';
import { StateRepo } from '../../src/core/repo.js';
import { cleanupTempDirs, CLI, git, tempDir, type RunResult } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

/** The built CLI run from `cwd`, with GITSTATE_DIR unset unless given. */
function cliIn(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, GITSTATE_DIR: '', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let home: string;
let state: string;
beforeAll(async () => {
  home = await tempDir('gitstate-home-');
  state = join(home, 'state');
  const repo = await StateRepo.init(state);
  await repo.set('knowledge', 'where', 'home');
  await mkdir(join(state, 'projects/api/src'), { recursive: true });
});

describe('expandHome', () => {
  it.each([
    ['~', '/h'],
    ['~/state', '/h/state'],
    ['$HOME/state', '/h/state'],
    ['${HOME}/state', '/h/state'],
    ['~other/state', '~other/state'],
    ['/srv/~/state', '/srv/~/state'],
    ['state', 'state'],
    ['$HOMEWORK', '$HOMEWORK'],
  ])('%s -> %s', (input, expected) => {
    expect(expandHome(input, '/h')).toBe(expected);
  });
});

describe('chooseStateDir', () => {
  it('--dir, else GITSTATE_DIR, each with ~ expanded; relative paths from the cwd', () => {
    expect(chooseStateDir({ dir: '~/x', env: '/y', cwd: '/' }).dir).toBe(join(process.env.HOME!, 'x'));
    expect(chooseStateDir({ env: 'rel', cwd: '/srv' })).toEqual({ dir: '/srv/rel', source: 'env', looked: [] });
  });

  it('finds the state repo at or above the cwd, else falls back to ./state', async () => {
    expect(chooseStateDir({ cwd: join(state, 'projects/api/src') })).toMatchObject({ dir: state, source: 'found' });
    expect(chooseStateDir({ cwd: state })).toMatchObject({ dir: state, source: 'found' });
    const elsewhere = await tempDir();
    const choice = chooseStateDir({ cwd: elsewhere });
    expect(choice).toMatchObject({ dir: join(elsewhere, 'state'), source: 'default' });
    expect(choice.looked[0]).toBe(elsewhere);
    expect(choice.looked.at(-1)).toBe('/');
  });

  it('a plain git repo is not a state repo; one made before the marker is', async () => {
    const plain = await tempDir();
    git(plain, 'init', '-q', '-b', 'main');
    expect(stateRepoKind(plain)).toBeNull();
    expect(chooseStateDir({ cwd: plain }).source).toBe('default');
    const old = join(await tempDir(), 'state');
    await StateRepo.init(old);
    await rm(join(old, FORMAT_FILE));
    expect(stateRepoKind(old)).toBe('legacy');
    expect(chooseStateDir({ cwd: old })).toMatchObject({ dir: old, source: 'found' });
  });
});

describe('the CLI finds the repo as git does', () => {
  it('from inside the state repo, any folder deep', async () => {
    const r = await cliIn(join(state, 'projects/api/src'), ['get', 'knowledge', 'where']);
    expect(r).toMatchObject({ code: 0, stdout: 'home\n' });
  });

  it('init inside the state repo finds it: no nested state/state', async () => {
    const r = await cliIn(state, ['init']);
    expect(r.stdout).toBe(`already initialized: ${state} (nothing changed)\n`);
    expect(stateRepoKind(join(state, 'state'))).toBeNull();
  });

  it('~ and $HOME in GITSTATE_DIR and --dir (as an .mcp.json env block writes them)', async () => {
    const elsewhere = await tempDir();
    for (const [args, env] of [
      [['get', 'knowledge', 'where'], { GITSTATE_DIR: '~/state', HOME: home }],
      [['get', 'knowledge', 'where'], { GITSTATE_DIR: '$HOME/state', HOME: home }],
      [['--dir', '~/state', 'get', 'knowledge', 'where'], { HOME: home }],
    ] as const) {
      const r = await cliIn(elsewhere, [...args], env);
      expect(r, JSON.stringify(env)).toMatchObject({ code: 0, stdout: 'home\n' });
    }
    expect(stateRepoKind(join(elsewhere, '~'))).toBeNull();
  });

  it('no state repo: says where it looked and how to point at one, never a command that nests repos', async () => {
    const elsewhere = await tempDir();
    const r = await cliIn(elsewhere, ['get', 'knowledge']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gitstate: no state repository found (looked in ${elsewhere} and every folder above it, and at ${join(elsewhere, 'state')}); give its folder with --dir DIR or GITSTATE_DIR=DIR, or create one with "gitstate --dir DIR init" (for example DIR=~/state)\n`,
    );
    const fromEnv = await cliIn(elsewhere, ['get', 'knowledge'], { GITSTATE_DIR: '~/nowhere', HOME: home });
    expect(fromEnv.stderr).toMatch(new RegExp(`^gitstate: no state repository at ${join(home, 'nowhere')} \\(from GITSTATE_DIR\\); give its folder with --dir`));
    // a plain git repo named by --dir: the one suggestion is to make that very repo a state repo
    const plain = await tempDir();
    git(plain, 'init', '-q', '-b', 'main');
    const inPlain = await cliIn(plain, ['--dir', plain, 'get', 'knowledge']);
    expect(inPlain.stderr).toBe(`gitstate: ${plain} is a git repository that gitstate has not set up; make it a state repo with "gitstate --dir ${plain} init"\n`);
    for (const text of [r.stderr, fromEnv.stderr, inPlain.stderr]) expect(text).not.toMatch(/run "gitstate init"/);
  });
});
