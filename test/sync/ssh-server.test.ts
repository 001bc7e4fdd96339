/**
 * Sync over ssh against OpenSSH's sshd, started by this file on a 127.0.0.1
 * high port with a generated host key and client key. The client reaches it
 * as a user would: an ssh config with a host alias, named by core.sshCommand
 * in the user's git config (never overridden by gitstate).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { hookCuttingPush, hookMovingMainOnce, hookProtectingMain, removeHooks } from '../helpers/real-servers.mjs';
import { simultaneousSyncs, useSshServer } from '../helpers/real-servers.js';
import { assertRepoHealthy, cli, CLI, git, headOid, tempDir, restoreEnv, tempRepo } from '../helpers/repo.js';
import { itFull, sized } from '../helpers/tier.js';

const server = useSshServer();
const ROUNDS = sized(1, 5, 'REAL_SERVER_ROUNDS');
/** Machines syncing at one moment: two in the quick tier, three in the full one. */
const MACHINES = sized(2, 3);

let globalConfig = '';
beforeAll(async () => {
  globalConfig = join(await tempDir(), 'gitconfig');
  writeFileSync(globalConfig, `[core]\n\tsshCommand = ${server().sshCommand}\n`);
  process.env.GIT_CONFIG_GLOBAL = globalConfig;
});
afterAll(() => {
  delete process.env.GIT_CONFIG_GLOBAL;
});

const bare = (name: string) => join(server().root, name);
const clone = async (url: string) => cloneRepo(url, join(await tempDir(), 'state'));

async function firstMachine(name: string): Promise<{ url: string; repo: StateRepo }> {
  const url = server().createRepo(name);
  const repo = await tempRepo();
  await addRemote(repo, 'origin', url);
  await sync(repo);
  return { url, repo };
}

describe('ssh through OpenSSH sshd', () => {
  itFull('clone through an ssh-config alias (gitserver:/path), with core.sshCommand honoured; edits carried both ways', async () => {
    await firstMachine('alias.git');
    const dir = join(await tempDir(), 'state');
    const cloned = await cli(['clone', server().aliasUrl('alias.git')], { dir });
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(cloned.stdout.trim()).toMatch(/^cloned into /);
    await cli(['set', 'knowledge', 'via', 'alias'], { dir });
    const pushed = await cli(['push'], { dir });
    expect(pushed.stdout.trim()).toMatch(/^pushed to origin at [0-9a-f]{12}$/);
    expect((await cli(['push'], { dir })).stdout.trim()).toMatch(/^nothing to push: origin is at [0-9a-f]{12} already$/);
    expect(git(bare('alias.git'), 'rev-parse', 'main').trim()).toBe(headOid(dir));
  });

  itFull(`${MACHINES} machines syncing at the same moment all succeed`, () => simultaneousSyncs(server().createRepo('race.git'), MACHINES, ROUNDS));

  itFull('on a terminal: progress for clone and push over ssh, and "cloned into" on a line of its own', async () => {
    const url = server().createRepo('tty.git');
    await clone(url);
    const dir = join(await tempDir(), 'state');
    const { execFile } = await import('node:child_process');
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    const onTty = (args: string) =>
      new Promise<string>((res) => execFile('script', ['-qec', `${process.execPath} ${CLI} --dir ${dir} ${args}`, '/dev/null'], { encoding: 'utf8' }, (_e, out) => res(out)));
    const cloned = await onTty(`clone ${url}`);
    expect(cloned).toMatch(/(Receiving|Resolving|Counting) objects: \d+/);
    expect(cloned).toMatch(/\ncloned into /);
    await cli(['set', 'knowledge', 'x', '1'], { dir });
    const pushed = await onTty('push');
    expect(pushed).toMatch(/Writing objects: \d+/);
    expect(pushed).toMatch(/\npushed to origin at [0-9a-f]{12}/);
  });

  it('a push whose ref update loses a race (a hook moves main once) is recognised and retried', async () => {
    const { repo } = await firstMachine('moved.git');
    await repo.set('knowledge', 'mine', 1);
    hookMovingMainOnce(bare('moved.git'));
    const result = await sync(repo);
    removeHooks(bare('moved.git'));
    expect(result).toMatchObject({ action: 'merged', pushed: true });
    expect(git(bare('moved.git'), 'rev-parse', 'main').trim()).toBe(headOid(repo.dir));
  });

  itFull("a protected branch: the server's text, no retry, no hint lines", async () => {
    const { repo } = await firstMachine('protected.git');
    await repo.set('knowledge', 'mine', 1);
    hookProtectingMain(bare('protected.git'));
    const err = (await sync(repo).catch((e: unknown) => e)) as Error & { code?: string };
    removeHooks(bare('protected.git'));
    expect(err.code).toBe('PUSH_REFUSED');
    expect(err.message).toMatch(/^push to origin \(ssh:\/\/.*protected\.git\) refused: \[remote rejected\] \(pre-receive hook declined\); the server said: main is protected: pushes need a review/);
  });

  itFull("native git's own words for each ssh failure, never its last line alone", async () => {
    const { url, repo } = await firstMachine('errors.git');
    const fails = async (env: Record<string, string>, target = url) => {
      const r = await tempRepo();
      await addRemote(r, 'origin', target);
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        return ((await sync(r, { timeoutMs: 10_000 }).catch((e: unknown) => e)) as Error).message;
      } finally {
        restoreEnv(saved);
      }
    };
    const empty = join(await tempDir(), 'known_hosts');
    writeFileSync(empty, '');
    expect(await fails({ GIT_SSH_COMMAND: `${server().sshCommand} -o UserKnownHostsFile=${empty}` })).toMatch(/^fetch from origin \(ssh:\/\/.*errors\.git\) failed: (No \S+ host key is known for .*; )?Host key verification failed\.; fatal: Could not read from remote repository\.$/);
    const stranger = join(await tempDir(), 'key');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    expect(await fails({ GIT_SSH_COMMAND: `ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=${join(server().home, 'known_hosts')} -o IdentitiesOnly=yes -i ${stranger}` })).toMatch(
      /^fetch from origin \(ssh:.*\) failed: [^;]*Permission denied \(publickey\)\.; fatal: Could not read from remote repository\.$/,
    );
    expect(await fails({}, url.replace('errors.git', 'missing.git'))).toMatch(/failed: fatal: '.*missing\.git' does not appear to be a git repository; fatal: Could not read from remote repository\./);
    hookCuttingPush(bare('errors.git'));
    await repo.set('knowledge', 'x', 1);
    expect(((await sync(repo).catch((e: unknown) => e)) as Error).message).toMatch(/^push to origin \(ssh:.*\) (failed|refused)/);
    removeHooks(bare('errors.git'));
    assertRepoHealthy(repo.dir);
    await sync(repo);
    expect(git(bare('errors.git'), 'rev-parse', 'main').trim()).toBe(headOid(repo.dir));
  });

  itFull('sshd down: a clear error naming the remote, then recovery is the next sync', async () => {
    const { repo } = await firstMachine('down.git');
    const port = server().port;
    const other = await tempRepo();
    await addRemote(other, 'origin', `ssh://root@127.0.0.1:1${String(port).slice(1)}/nothing.git`);
    const err = (await sync(other, { timeoutMs: 5000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^fetch from origin \(ssh:\/\/.*nothing\.git\) failed: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused; fatal: Could not read from remote repository\.|did not answer/);
    await expect(sync(repo)).resolves.toMatchObject({ remote: 'origin' });
  });
});

describe('clone cleanup', () => {
  itFull('a clone of a missing ssh repository leaves nothing behind; the retry works', async () => {
    const url = server().createRepo('later.git');
    const missing = url.replace('later.git', 'not-yet.git');
    const dir = join(await tempDir(), 'state');
    const failed = await cli(['clone', missing], { dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/does not appear to be a git repository/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(dir)).toBe(false);
    const ok = await cloneRepo(url, dir);
    assertRepoHealthy(ok.dir);
  });
});
