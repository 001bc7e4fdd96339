/**
 * init checks what it adopts: a folder's files are committed as they are only
 * when every one passes the checks a write passes; an existing git repo
 * becomes a state repo in one commit; the format marker.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initStateRepo } from '../../src/core/init.js';
import { StateRepo } from '../../src/core/repo.js';
import { FORMAT_FILE, FORMAT_VERSION } from '../../src/core/format.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, tempDir } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';

afterAll(cleanupTempDirs);

/** Every path under `dir` with its bytes (or "->target" for a link), to show nothing changed. */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const stats = lstatSync(join(dir, path));
    if (stats.isDirectory()) Object.assign(out, { [`${path}/`]: '' }, snapshot(dir, path));
    else out[path] = stats.isSymbolicLink() ? '->' : readFileSync(join(dir, path)).toString('base64');
  }
  return out;
}

async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(await tempDir(), 'state');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** The original system's files, in PyYAML's layout: they must be adopted byte for byte. */
const PYYAML_WORK = "active_issues:\n- key: AAP-1\n  started: '2026-01-06T11:00:00'\n  status: In Progress\nlast_updated: 2026-01-21 15:54:19\n";
const HEALTH = "health_checks:\n  gitlab_token:\n    details: GitLab check failed\n    healthy: false\n    last_checked: '14:22:10'\n";

describe('init in a folder that holds files', () => {
  it('refuses when any file fails the path, parse, size or secret checks: exit 3, each file named, nothing changed', async () => {
    const dir = await folder({
      'creds.yaml': 'db:\n  password: hunter2\n',
      'bad.yaml': 'a: [\n',
      'big.json': `{"x": "${'y'.repeat(2 * 1024 * 1024)}"}`,
      'my notes.yaml': 'a: 1\n',
      'notes.txt': 'free text\n',
      'good.yaml': 'a: 1\n',
    });
    await symlink('/etc/hostname', join(dir, 'link.yaml'));
    const before = snapshot(dir);
    const r = await runMain(['init'], { dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/^gitstate: init refused, nothing changed: 5 files cannot be adopted: /);
    expect(line).toContain('invalid YAML in bad.yaml at line 2');
    expect(line).toContain('big.json is 2097161 bytes; the limit is 1048576 bytes');
    expect(line).toContain('creds.yaml: db.password: looks like a secret');
    expect(line).not.toContain('hunter2');
    expect(line).toContain('link.yaml is a symbolic link');
    expect(line).toMatch(/my notes\.yaml.*unsupported character/);
    expect(existsSync(join(dir, '.git'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
    const json = JSON.parse((await runMain(['init', '--json'], { dir })).stderr);
    expect(json.error.code).toBe('INVALID_YAML');
    expect(json.error.details.files.map((f: { file: string; code: string }) => `${f.file} ${f.code}`)).toEqual([
      'bad.yaml INVALID_YAML',
      'big.json TOO_LARGE',
      'creds.yaml SECRET',
      'link.yaml PATH',
      'my notes.yaml PATH',
    ]);
    expect(existsSync(join(dir, '.git'))).toBe(false);
  });

  it('adopts the files unchanged, leaves out and ignores what it does not manage, warns on schema breaks', async () => {
    const dir = await folder({
      'current_work.yaml': PYYAML_WORK,
      'environment_health.yaml': HEALTH,
      'environments.yaml': 'dev: {namespace: 42}\n',
      'learned/patterns.yaml': '# kept\npatterns:\n- retry on 503\n',
      'config.json': '{"gitlab": {"token": "glpat-aaaaaaaaaaaaaaaaaaaaaaaa"}}\n',
      'notes.txt': 'free text\n',
      'tools/run.sh': 'echo hi\n',
      '.env': 'API_KEY=abc\n',
    });
    await chmod(join(dir, 'environment_health.yaml'), 0o600);
    const before = snapshot(dir);
    const report = await initStateRepo(dir);
    expect(report.created).toBe(true);
    expect(lstatSync(join(dir, 'environment_health.yaml')).mode & 0o777).toBe(0o600); // a private file stays private
    expect(report.adopted).toEqual(['current_work.yaml', 'environment_health.yaml', 'environments.yaml', 'learned/patterns.yaml']);
    expect(report.seeded.sort()).toEqual(['knowledge.yaml', 'projects/.gitkeep', 'shared_context.yaml']);
    expect(report.excluded.map((e) => e.path)).toEqual(['.env', 'config.json', 'notes.txt', 'tools/']);
    expect(report.warnings).toEqual([{ path: 'environments.yaml', code: 'SCHEMA', message: expect.stringMatching(/^environments\.yaml: dev\.namespace: expected string/) }]);
    for (const path of ['current_work.yaml', 'environment_health.yaml', 'environments.yaml', 'learned/patterns.yaml', 'config.json', 'notes.txt']) {
      expect(readFileSync(join(dir, path)).toString('base64'), path).toBe(before[path]);
      expect(git(dir, 'ls-files', path).trim(), path).toBe(['config.json', 'notes.txt'].includes(path) ? '' : path);
    }
    expect(git(dir, 'show', 'HEAD:current_work.yaml')).toBe(PYYAML_WORK);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/\/\.env\n\/config\.json\n\/notes\.txt\n\/tools\/\n$/);
    expect(git(dir, 'show', `HEAD:${FORMAT_FILE}`)).toBe(`${FORMAT_VERSION}\n`);
    expect(commitCount(dir)).toBe(1);
    assertRepoHealthy(dir);
    const validate = await runMain(['validate'], { dir });
    expect(validate.code).toBe(3);
    expect(validate.stdout).toContain('invalid  environments.yaml: dev.namespace: expected string');
    const text = await runMain(['init'], { dir });
    expect(text.stdout).toContain('already initialized');
  });

  it('reads the allow-list from the folder before checking its files', async () => {
    const dir = await folder({
      'knowledge.yaml': 'docs:\n  password: hunter2-is-an-example\n',
      '.gitstate/secrets-allow.yaml': 'knowledge.yaml:\n  - docs.password\n',
    });
    const report = await initStateRepo(dir);
    expect(report.adopted).toEqual(['.gitstate/secrets-allow.yaml', 'knowledge.yaml']);
    expect(git(dir, 'show', 'HEAD:knowledge.yaml')).toContain('hunter2-is-an-example');
    assertRepoHealthy(dir);
  });

  it('prints what it adopted, left out and warned about', async () => {
    const dir = await folder({ 'environments.yaml': 'dev: {namespace: 42}\n', 'README.md': '# mine\n' });
    const r = await runMain(['init'], { dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`initialized state repository in ${dir}`);
    expect(r.stdout).toContain('adopted as they are: environments.yaml');
    expect(r.stdout).toContain('left out (added to .gitignore): README.md: not a .yaml, .yml or .json file');
    expect(r.stdout).toContain('warning: environments.yaml: dev.namespace: expected string');
    assertRepoHealthy(dir);
  });
});

describe('init on an existing git repository', () => {
  it('makes it a state repo in one commit: pinned config, hook, seeds, marker; its own files stay as they are', async () => {
    const dir = await folder({ 'knowledge.yaml': 'mine: true\n', 'README.md': '# notes\n' });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '.');
    git(dir, '-c', 'user.name=Me', '-c', 'user.email=me@example.com', 'commit', '-qm', 'my notes');
    await writeFile(join(dir, 'untracked.yaml'), 'b: 2\n');
    const first = headOid(dir);
    const r = await runMain(['init', '--json'], { dir });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ created: true, adopted: ['untracked.yaml'] });
    expect(report.seeded.sort()).toEqual(['current_work.yaml', 'environments.yaml', 'projects/.gitkeep', 'shared_context.yaml']);
    expect(git(dir, 'rev-parse', 'HEAD~1').trim()).toBe(first);
    expect(git(dir, 'show', 'HEAD:knowledge.yaml')).toBe('mine: true\n');
    expect(git(dir, 'config', 'feature.manyFiles').trim()).toBe('false');
    expect(existsSync(join(dir, '.git/hooks/pre-commit'))).toBe(true);
    expect(git(dir, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual(
      ['.gitignore', FORMAT_FILE, 'current_work.yaml', 'environments.yaml', 'projects/.gitkeep', 'shared_context.yaml', 'untracked.yaml'].sort(),
    );
    assertRepoHealthy(dir);
    expect((await runMain(['get', 'knowledge', 'mine'], { dir })).stdout).toBe('true\n');
  });

  it('refuses a branch other than main, saying how to rename it; nothing changed', async () => {
    const dir = await folder({ 'knowledge.yaml': 'a: 1\n' });
    git(dir, 'init', '-q', '-b', 'master');
    git(dir, 'add', '.');
    git(dir, '-c', 'user.name=Me', '-c', 'user.email=me@example.com', 'commit', '-qm', 'first');
    const before = snapshot(join(dir, '.git'));
    const r = await runMain(['init'], { dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`gitstate: ${dir} is on branch master; a state repo keeps its state on main: rename it with "git -C ${dir} branch -m master main" and run gitstate init again\n`);
    expect(snapshot(join(dir, '.git'))).toEqual(before);
    git(dir, 'branch', '-m', 'master', 'main');
    expect((await runMain(['init'], { dir })).code).toBe(0);
    assertRepoHealthy(dir);
  });

  it('an unborn branch of another name is pointed at main', async () => {
    const dir = await folder({ 'knowledge.yaml': 'a: 1\n' });
    git(dir, 'init', '-q', '-b', 'master');
    expect((await initStateRepo(dir)).created).toBe(true);
    expect(git(dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    assertRepoHealthy(dir);
  });
});

describe('the format marker', () => {
  it('a repo of a newer format is refused, never misread', async () => {
    const dir = await folder({});
    await initStateRepo(dir);
    await writeFile(join(dir, FORMAT_FILE), `${FORMAT_VERSION + 1}\n`);
    git(dir, 'commit', '-qam', 'from the future', '--no-verify');
    const r = await runMain(['get', 'knowledge'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gitstate: ${dir} is a state repo of format ${FORMAT_VERSION + 1}, made by a newer gitstate; this one reads format ${FORMAT_VERSION} at most: upgrade gitstate to use it\n`);
    expect((await runMain(['init'], { dir })).code).toBe(1);
    await writeFile(join(dir, FORMAT_FILE), 'garbage\n');
    expect((await runMain(['get', 'knowledge'], { dir })).stderr).toMatch(/\.gitstate\/format does not hold a format version/);
  });

  it('a repo made before the marker is recognised, and gets the marker with its next write, in a commit of its own', async () => {
    const dir = await folder({});
    await initStateRepo(dir);
    git(dir, 'rm', '-q', FORMAT_FILE);
    git(dir, 'commit', '-qm', 'as an older gitstate left it', '--no-verify');
    const repo = await StateRepo.open(dir);
    const before = commitCount(dir);
    await repo.set('knowledge', 'a', 1);
    expect(commitCount(dir)).toBe(before + 2);
    expect(git(dir, 'log', '-2', '--format=%s').split('\n').slice(0, 2)).toEqual(['set knowledge.yaml a', `upgrade the repository to format ${FORMAT_VERSION}`]);
    expect(readFileSync(join(dir, FORMAT_FILE), 'utf8')).toBe(`${FORMAT_VERSION}\n`);
    await repo.set('knowledge', 'a', 2);
    expect(commitCount(dir)).toBe(before + 3);
    assertRepoHealthy(dir);
  });

  it('init upgrades a repo made before the marker', async () => {
    const dir = await folder({});
    await initStateRepo(dir);
    git(dir, 'rm', '-q', FORMAT_FILE);
    git(dir, 'commit', '-qm', 'older', '--no-verify');
    const report = await initStateRepo(dir);
    expect(report).toMatchObject({ created: false, upgraded: true });
    expect(git(dir, 'log', '-1', '--format=%s%n%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe(`upgrade the repository to format ${FORMAT_VERSION}\nupgrade`);
    expect((await initStateRepo(dir)).commit).toBeNull();
    assertRepoHealthy(dir);
  });
});

describe('the file system, as native git finds it', () => {
  it('init records the same core.ignorecase and core.symlinks as git init in the same folder', async () => {
    const parent = await tempDir();
    const ours = (await StateRepo.init(join(parent, 'state'))).dir;
    git(parent, 'init', '-q', 'native');
    for (const key of ['core.ignorecase', 'core.symlinks']) {
      // native git writes a key only when it differs from git's default (ignorecase false, symlinks true)
      const native = git(join(parent, 'native'), 'config', '--bool', '--default', key === 'core.ignorecase' ? 'false' : 'true', key).trim();
      expect(git(ours, 'config', '--bool', key).trim(), key).toBe(native);
    }
    expect(readdirSync(join(ours, '.git')).filter((n) => n.includes('probe'))).toEqual([]);
  });
});

describe("git's identity, copied at init", () => {
  /** A home whose git config names the user through an [include], as many dotfile setups do. */
  async function home(user: string): Promise<NodeJS.ProcessEnv> {
    const dir = await tempDir();
    await writeFile(join(dir, 'identity'), user);
    await writeFile(join(dir, 'gitconfig'), `[include]\n\tpath = ${join(dir, 'identity')}\n`);
    return { GIT_CONFIG_GLOBAL: join(dir, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', GITSTATE_AUTHOR_NAME: '', GITSTATE_AUTHOR_EMAIL: '' };
  }

  it('follows includes, as git does, and a write is then by that person', async () => {
    const env = await home('[user]\n\tname = Inc User\n\temail = inc@example.com\n');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['init', '-q'], { dir, env })).code).toBe(0);
    expect((await cli(['set', 'knowledge', 'a', '1'], { dir, env })).code).toBe(0);
    expect(git(dir, 'log', '-1', '--format=%an <%ae>').trim()).toBe('Inc User <inc@example.com>');
  });

  it('an identity a write would refuse is not copied: init and the writes after it go on', async () => {
    const env = await home('[user]\n\tname = Plain User\n\temail = plain\n');
    const dir = join(await tempDir(), 'state');
    const init = await cli(['init'], { dir, env });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/warning: the author email from git's user\.email \("plain"\) is not an email address like name@example\.com; not copied into the state repo/);
    expect(git(dir, 'config', '--file', join(dir, '.git/config'), '--get', 'user.name').trim()).toBe('Plain User');
    expect(() => git(dir, 'config', '--file', join(dir, '.git/config'), '--get', 'user.email')).toThrow();
    expect((await cli(['set', 'knowledge', 'a', '1'], { dir, env })).code).toBe(0);
  });

  it('clone says so too, and its writes go on', async () => {
    const bare = join(await tempDir(), 'remote.git');
    git(await tempDir(), 'init', '-q', '--bare', '-b', 'main', bare);
    const env = await home('[user]\n\tname = Plain User\n\temail = plain\n');
    const dir = join(await tempDir(), 'state');
    const clone = await cli(['clone', bare], { dir, env });
    expect(clone.code, clone.stderr).toBe(0);
    expect(clone.stdout).toMatch(/^cloned into .*\nwarning: the author email from git's user\.email \("plain"\) is not an email address like name@example\.com; not copied into the state repo/);
    expect(() => git(dir, 'config', '--file', join(dir, '.git/config'), '--get', 'user.email')).toThrow();
    const json = await cli(['--json', 'clone', bare], { dir: join(await tempDir(), 'state'), env });
    expect(JSON.parse(json.stdout).warnings).toEqual([expect.stringMatching(/user\.email \("plain"\)/)]);
    expect((await cli(['set', 'knowledge', 'a', '1'], { dir, env })).code).toBe(0);
  });

  it('init on a repo made before git had an identity copies it, and says so', async () => {
    const dir = join(await tempDir(), 'state');
    expect((await cli(['init', '-q'], { dir, env: await home('') })).code).toBe(0);
    const env = await home('[user]\n\tname = Later User\n\temail = later@example.com\n');
    expect((await cli(['init'], { dir, env })).stdout).toMatch(/already initialized: .*; recorded git's user\.name and user\.email in its config/);
    expect((await cli(['init'], { dir, env })).stdout).toMatch(/\(nothing changed\)/);
  });

  it('the config file stays one git can extend: a section appended by hand reads', async () => {
    const dir = join(await tempDir(), 'state');
    expect((await cli(['init', '-q'], { dir, env: await home('[user]\n\tname = A\n\temail = a@example.com\n') })).code).toBe(0);
    expect(readFileSync(join(dir, '.git/config'), 'utf8').endsWith('\n')).toBe(true);
    await writeFile(join(dir, '.git/config'), '[alias]\n\tst = status\n', { flag: 'a' });
    expect(git(dir, 'config', '--get', 'alias.st').trim()).toBe('status');
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});
