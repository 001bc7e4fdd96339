import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGitServer } from '../helpers/server.js';
import { assertRepoHealthy, cli, CLI, git, headOid, tempDir } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';
import { runMain } from '../helpers/main.js';

const gitServer = useGitServer();

/** In-process (program.ts's main): these tests are about what the commands do and say; the rest run the binary. */
const run = runMain;

describe('sync CLI', () => {
  it('remote, clone, sync, conflicts and status, all with --json', async () => {
    const url = gitServer().createRepo('cli.git');
    const a = join(await tempDir(), 'state');
    const b = join(await tempDir(), 'state');
    expect((await run(['init'], { dir: a })).code).toBe(0);
    expect((await run(['remote', 'add', 'origin', url], { dir: a })).code).toBe(0);
    expect(JSON.parse((await run(['remote', 'list', '--json'], { dir: a })).stdout)).toEqual([{ name: 'origin', url }]);
    const first = await run(['sync', '--json'], { dir: a });
    expect(JSON.parse(first.stdout)).toMatchObject({ remote: 'origin', pushed: true });
    expect(JSON.parse((await run(['clone', url, '--json'], { dir: b })).stdout).head).toBe(headOid(a));

    await run(['set', 'knowledge', 'owner', 'a'], { dir: a, env: { GITSTATE_HOST: 'laptop' } });
    await run(['set', 'knowledge', 'owner', 'b'], { dir: b, env: { GITSTATE_HOST: 'desktop' } });
    expect((await run(['sync'], { dir: a })).code).toBe(0);
    const manual = await run(['sync', '--strategy', 'manual'], { dir: b });
    expect(manual.code).toBe(4);
    expect(manual.stderr).toMatch(/knowledge\.yaml: owner/);
    const merged = await run(['sync', '--strategy', 'theirs', '--json'], { dir: b });
    expect(JSON.parse(merged.stdout)).toMatchObject({ action: 'merged', pushed: true, conflicts: [{ key: 'owner', kept: 'theirs' }] });
    const records = JSON.parse((await run(['conflicts', '--json'], { dir: b })).stdout);
    expect(records).toMatchObject([{ file: 'knowledge.yaml', key: 'owner', ours: { value: 'b', host: 'desktop' }, theirs: { value: 'a', host: 'laptop' } }]);
    expect((await run(['pull', '--json'], { dir: a })).code).toBe(0);
    expect(headOid(a)).toBe(headOid(b));
    const status = JSON.parse((await run(['status', '--json'], { dir: a })).stdout);
    expect(status.sync).toMatchObject({ remote: 'origin', ahead: 0, behind: 0, lastError: null, lastSync: expect.any(String) });
    expect((await run(['sync', '--strategy', 'bogus'], { dir: a })).code).toBe(2);
    expect((await run(['remote', 'remove', 'origin'], { dir: a })).code).toBe(0);
    expect((await run(['sync'], { dir: a })).code).toBe(2);
    assertRepoHealthy(a);
    assertRepoHealthy(b);
  });

  it('a token from GITSTATE_TOKEN is used, never printed and never written to .git/config', async () => {
    const url = gitServer().createRepo('private.git');
    gitServer().auth = { username: 'me', password: 'tok-SECRET-123' };
    try {
      const dir = join(await tempDir(), 'state');
      await cli(['init'], { dir });
      await cli(['remote', 'add', 'origin', url], { dir });
      const denied = await cli(['sync'], { dir, env: { GITSTATE_TOKEN: 'wrong-token-XYZ', GITSTATE_USERNAME: 'me' } });
      expect(denied.code).toBe(1);
      expect(denied.stderr.trim().split('\n')).toHaveLength(1);
      expect(denied.stderr).not.toContain('wrong-token-XYZ');
      const ok = await cli(['sync', '--json'], { dir, env: { GITSTATE_TOKEN: 'tok-SECRET-123', GITSTATE_USERNAME: 'me' } });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout + ok.stderr).not.toContain('tok-SECRET-123');
      expect(await readFile(join(dir, '.git/config'), 'utf8')).not.toContain('tok-SECRET');
      expect(await readFile(join(dir, '.git/gitstate/sync.json'), 'utf8')).not.toContain('tok-SECRET');
      expect(git(join(gitServer().root, 'private.git'), 'rev-parse', 'main').trim()).toBe(headOid(dir));
    } finally {
      gitServer().auth = undefined;
    }
  });

  it("without GITSTATE_TOKEN, git's credential helper supplies the credentials", async () => {
    const url = gitServer().createRepo('helper.git');
    gitServer().auth = { username: 'helper-user', password: 'helper-pass-987' };
    try {
      const home = await tempDir();
      const { writeFile } = await import('node:fs/promises');
      const port = new URL(url).port;
      await writeFile(join(home, 'creds'), `http://helper-user:helper-pass-987@127.0.0.1%3a${port}\n`);
      await writeFile(join(home, 'gitconfig'), `[credential]\n\thelper = store --file ${join(home, 'creds')}\n`);
      const dir = join(await tempDir(), 'state');
      await cli(['init'], { dir });
      await cli(['remote', 'add', 'origin', url], { dir });
      const r = await cli(['sync'], { dir, env: { GIT_CONFIG_GLOBAL: join(home, 'gitconfig'), GITSTATE_TOKEN: '' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('helper-pass-987');
      expect(git(join(gitServer().root, 'helper.git'), 'rev-parse', 'main').trim()).toBe(headOid(dir));
    } finally {
      gitServer().auth = undefined;
    }
  });

  it('says truthfully what happened: a first sync fills an empty remote, a push with nothing new says so; errors in status are plain text', async () => {
    const url = gitServer().createRepo('truthful.git');
    const dir = join(await tempDir(), 'state');
    await run(['init'], { dir });
    await run(['remote', 'add', 'origin', url], { dir });
    expect((await run(['sync'], { dir })).stdout.trim()).toMatch(/^pushed to origin \(it was empty\) at [0-9a-f]{12}$/);
    expect((await run(['push'], { dir })).stdout.trim()).toMatch(/^nothing to push: origin is at [0-9a-f]{12} already$/);
    expect((await run(['sync'], { dir })).stdout.trim()).toMatch(/^up to date with origin at [0-9a-f]{12}$/);
    gitServer().fault = 'hang';
    try {
      expect((await run(['sync', '--timeout', '500'], { dir })).code).toBe(1);
    } finally {
      gitServer().fault = 'none';
    }
    const status = JSON.parse((await run(['status', '--json'], { dir })).stdout);
    expect(status.sync.lastError).toMatch(/did not answer within 500 ms$/);
    expect(status.sync.lastError).not.toMatch(/%20/);
  });

  it('a dead remote fails with exit 1 within the timeout, and status shows the error', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    await cli(['remote', 'add', 'origin', 'http://127.0.0.1:9/nothing.git'], { dir });
    const r = await cli(['sync', '--timeout', '2000'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gitstate: fetch from origin \(http:\/\/127\.0\.0\.1:9\/nothing\.git\) failed: fatal: unable to access .*Failed to connect|did not answer/);
    const status = JSON.parse((await cli(['status', '--json'], { dir })).stdout);
    expect(status.sync.lastError).toMatch(/127\.0\.0\.1:9/);
  });

  itFull('shows progress on a terminal, and nothing with --quiet', async () => {
    const url = gitServer().createRepo('progress.git');
    const seed = join(await tempDir(), 'state');
    await cli(['init'], { dir: seed });
    await cli(['remote', 'add', 'origin', url], { dir: seed });
    await cli(['sync'], { dir: seed });
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    const onTty = async (args: string) => {
      const dir = join(await tempDir(), 'state');
      const { execFile } = await import('node:child_process');
      return new Promise<string>((res) =>
        execFile('script', ['-qec', `${process.execPath} ${CLI} --dir ${dir} ${args}`, '/dev/null'], { encoding: 'utf8' }, (_e, out) => res(out)),
      );
    };
    expect(await onTty(`clone ${url}`)).toMatch(/(Counting|Receiving|Analyzing|Resolving|Compressing)[^:]*: \d+/);
    expect(await onTty(`--quiet clone ${url}`)).not.toMatch(/: \d+\//);
  });

  it('an ssh or local remote without the system git is a clear error', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    await cli(['remote', 'add', 'origin', '/nowhere/remote.git'], { dir });
    const r = await cli(['sync'], { dir, env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs the system git .* not installed/);
  });
});
