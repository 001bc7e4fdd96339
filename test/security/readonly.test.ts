/**
 * A read-only repository (a read-only mount: root cannot write it either)
 * serves every reading command: nothing needs the lock or a cache write.
 * The mount is made in a private mount namespace (`unshare -rm`), so it
 * exists only for the command under test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanupTempDirs, git, tempRepo, type RunResult } from '../helpers/repo.js';
import { tokens } from './tokens.js';

afterAll(cleanupTempDirs);

function readOnlyCli(dir: string, args: string[]): Promise<RunResult> {
  const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"';
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-rm', '--propagation', 'private', 'sh', '-c', script, 'sh', dir, process.execPath, CLI, '--dir', dir, ...args], {
      env: { ...process.env, GITSTATE_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('a read-only repository', () => {
  let dir = '';
  beforeAll(async () => {
    try {
      execFileSync('unshare', ['-rm', 'sh', '-c', 'mount --bind / /mnt 2>/dev/null || mount -t tmpfs none /mnt'], { stdio: 'ignore' });
    } catch {
      throw new Error('this test needs unshare(1) from util-linux and user namespaces (or root): apt-get install util-linux');
    }
    const repo = await tempRepo();
    dir = repo.dir;
    await repo.set('knowledge', 'a', 1);
    await repo.append('current_work', 'active_issues', { key: 'A-1', status: 'Open' });
    await writeFile(join(dir, 'shared_context.yaml'), `remote_secret: ${tokens.github}\n`);
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', 'pulled');
    await writeFile(join(dir, 'knowledge.yaml'), 'a: 2\n'); // an uncommitted edit
    execFileSync('rm', ['-rf', join(dir, '.git/gitstate')]); // no history index yet: log must build it in memory
  });

  it.each([
    [['get', 'knowledge', 'a'], /^2$/m],
    [['ls'], /knowledge\.yaml/],
    [['validate'], /ok\s+knowledge\.yaml/],
    [['log', '-n', '2'], /pulled/],
    [['log', 'knowledge', '--key', 'a'], /set knowledge\.yaml a/],
    [['show', 'HEAD'], /shared_context\.yaml/],
    [['diff'], /knowledge\.yaml/], // the work tree against HEAD: the hand edit
    [['diff', 'HEAD~1', 'HEAD'], /remote_secret/],
    [['blame', 'knowledge', 'a'], /set knowledge\.yaml a/],
    [['context'], /A-1/],
    [['doctor', '--secrets'], /shared_context\.yaml: remote_secret: rule github-token/],
  ])('%j works', async (args, out) => {
    const r = await readOnlyCli(dir, args as string[]);
    expect(r.stderr).not.toMatch(/EROFS|read-only file system/);
    expect(r.code === 0 || (args[0] === 'doctor' && r.code === 3), r.stderr).toBe(true);
    expect(r.stdout).toMatch(out as RegExp);
  });

  it('status reports the edit, the committed secret and that nothing was written', async () => {
    const r = await readOnlyCli(dir, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as { readOnly: boolean; changes: Array<{ path: string; status: string }>; secrets: Array<{ file: string; rule: string; commit: string }> };
    expect(status.readOnly).toBe(true);
    expect(status.changes).toEqual([{ path: 'knowledge.yaml', status: ' M' }]);
    expect(status.secrets).toEqual([expect.objectContaining({ file: 'shared_context.yaml', rule: 'github-token', commit: git(dir, 'rev-parse', 'HEAD').trim() })]);
    expect(r.stdout).not.toContain(tokens.github);
  });

  it('a write fails with one clear line and exit 1', async () => {
    const r = await readOnlyCli(dir, ['set', 'knowledge', 'b', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
