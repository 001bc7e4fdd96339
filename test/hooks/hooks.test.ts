import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGitServer } from '../helpers/server.js';
import { cli, CLI, git, gitAsync, headOid, ROOT, tempDir } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

const gitServer = useGitServer();

const byHand = (dir: string, ...args: string[]) => gitAsync(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args);

/** Run a hook script of this project the way an assistant would: cwd is wherever, the CLI named by GITSTATE_CLI. */
function runHook(name: string, dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t = Date.now();
  return new Promise((res) =>
    execFile(join(ROOT, 'hooks', name), [], { env: { ...process.env, GITSTATE_CLI: CLI, GITSTATE_DIR: dir, ...env } }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - t }),
    ),
  );
}

describe('pre-commit hook', () => {
  it('is installed by init and refuses a bad hand-made commit with the CLI message', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    expect(await readFile(join(dir, '.git/hooks/pre-commit'), 'utf8')).toContain(CLI);
    const head = headOid(dir);
    await writeFile(join(dir, 'current_work.yaml'), 'active_issues:\n  - key: [42]\n');
    const bad = await byHand(dir, 'commit', '-qam', 'bad by hand');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('gitstate: current_work.yaml: active_issues[0].key: expected string, received array (schema)');
    expect(headOid(dir)).toBe(head);
    await writeFile(join(dir, 'knowledge.yaml'), 'token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n');
    git(dir, 'add', 'knowledge.yaml');
    expect((await byHand(dir, 'commit', '-qm', 'secret by hand')).stderr).toMatch(/knowledge\.yaml: token: looks like a secret/);
    git(dir, 'checkout', '--', '.');
    git(dir, 'reset', '-q');
    git(dir, 'checkout', '--', '.');
    await writeFile(join(dir, 'knowledge.yaml'), 'fine: true\n');
    expect((await byHand(dir, 'commit', '-qam', 'good by hand')).code).toBe(0);
    expect(headOid(dir)).not.toBe(head);
  });

  it('does not block commits when gitstate has moved away, and says so', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    const hook = join(dir, '.git/hooks/pre-commit');
    await writeFile(hook, (await readFile(hook, 'utf8')).replace(CLI, '/moved/away/main.js'));
    await writeFile(join(dir, 'knowledge.yaml'), 'fine: true\n');
    const r = await byHand(dir, 'commit', '-qam', 'while gitstate is gone');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/gitstate not found .*not checked/);
  });

  it('hooks install is idempotent and leaves a hook of your own alone', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    expect((await cli(['hooks', 'install'], { dir })).stdout).toContain('already installed');
    await writeFile(join(dir, '.git/hooks/pre-commit'), '#!/bin/sh\nexit 0\n');
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, '.git/hooks/commit-msg'));
    const r = await cli(['hooks', 'install'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pre-commit exists and was not installed by gitstate; leaving it alone/);
    expect(await readFile(join(dir, '.git/hooks/pre-commit'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(await readFile(join(dir, '.git/hooks/commit-msg'), 'utf8')).toContain(CLI); // the other hook is still installed
  });
});

describe('commit-msg hook', () => {
  it('is installed by init and refuses a hand-made commit whose message holds a secret; comment lines do not count', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    expect(await readFile(join(dir, '.git/hooks/commit-msg'), 'utf8')).toContain(CLI);
    const head = headOid(dir);
    await writeFile(join(dir, 'knowledge.yaml'), 'fine: true\n');
    const token = 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB';
    const bad = await byHand(dir, 'commit', '-qam', `deploy with ${token}`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^gitstate: the commit message: looks like a secret \(rule [a-z0-9-]+, fingerprint fp:[0-9a-f]{16}\)/m);
    expect(bad.stderr).not.toContain(token);
    expect(headOid(dir)).toBe(head);
    // git strips # lines from the message it records (a template or the status it shows)
    await writeFile(join(dir, 'msg.txt'), `fine by hand\n# ${token}\n`);
    expect((await byHand(dir, 'commit', '-qa', '-F', join(dir, 'msg.txt'), '--cleanup=strip')).code).toBe(0);
    expect(headOid(dir)).not.toBe(head);
  });
});

describe('session hooks', () => {
  it('start pulls and prints what changed since the last session; end flushes, marks and syncs', async () => {
    const url = gitServer().createRepo('sessions.git');
    const laptop = join(await tempDir(), 'state');
    const desktop = join(await tempDir(), 'state');
    await cli(['clone', url], { dir: laptop });
    await cli(['clone', url], { dir: desktop });
    // The laptop's session ends: its marker is set.
    expect((await runHook('session-end', laptop, { GITSTATE_HOST: 'laptop' })).code).toBe(0);
    // Meanwhile the desktop writes and its session ends (state.json left on disk, flushed by the hook).
    await cli(['set', 'current_work', 'active_issues', '[{key: AAP-9, status: Review}]'], { dir: desktop, env: { GITSTATE_HOST: 'desktop' } });
    await writeFile(join(desktop, 'state.json'), '{"persona": "reviewer"}\n');
    expect((await runHook('session-end', desktop, { GITSTATE_HOST: 'desktop' })).code).toBe(0);
    expect(git(join(gitServer().root, 'sessions.git'), 'log', '-1', '--format=%s', 'main').trim()).toBe('flush state.json');
    // The laptop's next session starts: it pulls and sees the desktop's change, with its host.
    const start = await runHook('session-start', laptop, { GITSTATE_HOST: 'laptop' });
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('# Session context');
    expect(start.stdout).toContain('AAP-9 [Review]');
    expect(start.stdout).toMatch(/## Since your last session on this machine\n- [0-9a-f]{7} .* desktop: flush state\.json/);
    expect(start.stdout).toMatch(/desktop: set current_work\.yaml active_issues\n {2}- current_work\.yaml \+ active_issues\[key=AAP-9\]/);
  });

  itFull('never fail and never block long when the remote is dead', async () => {
    const dir = join(await tempDir(), 'state');
    await cli(['init'], { dir });
    await cli(['remote', 'add', 'origin', 'http://127.0.0.1:9/dead.git'], { dir });
    const start = await runHook('session-start', dir, { GITSTATE_HOOK_TIMEOUT_MS: '1000' });
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('# Session context');
    expect(start.ms).toBeLessThan(8000);
    const end = await runHook('session-end', dir, { GITSTATE_HOOK_TIMEOUT_MS: '1000' });
    expect(end.code).toBe(0);
    expect(end.ms).toBeLessThan(8000);
    // and without any state repo at all
    expect((await runHook('session-start', join(dir, 'missing'))).code).toBe(0);
  });
});
