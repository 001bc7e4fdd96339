/**
 * Secrets that are already in a repository (committed by native git, pulled):
 * reported by the next write, by `status` and by `doctor --secrets` (commit,
 * file, rule; never the value), and never blocking anything else. And the
 * pre-commit hook running the commit guard over hand-made commits.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, cli, git, headOid, tempDir } from '../helpers/repo.js';
import { scanText } from '../../src/security/scan.js';
import { tokens as T } from './tokens.js';

afterAll(cleanupTempDirs);

const byHand = (dir: string, message: string, env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', message], { cwd: dir, env: { ...process.env, ...env } }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
const noHook = (dir: string, message: string) => git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', message);

async function newRepo(): Promise<string> {
  const dir = join(await tempDir(), 'state');
  expect((await cli(['init'], { dir })).code).toBe(0);
  return dir;
}

describe('secrets already committed', () => {
  it('are reported by the next write to their file, by status and by doctor, never printed', async () => {
    const dir = await newRepo();
    await writeFile(join(dir, 'knowledge.yaml'), `remote_secret: ${T.github}\nother: 1\n`);
    noHook(dir, 'pushed from elsewhere with --no-verify');
    const added = headOid(dir);
    await writeFile(join(dir, 'shared_context.yaml'), `note: fine\n`);
    noHook(dir, `a message holding ${T.slack}`);
    const messaged = headOid(dir);

    const write = await cli(['set', 'knowledge', 'other', '2'], { dir });
    expect(write.code).toBe(0);
    expect(write.stderr).toContain(`gitstate: warning: knowledge.yaml: remote_secret: holds a secret (rule github-token`);
    expect(write.stderr).toContain(`added by commit ${added.slice(0, 12)}`);

    const status = await cli(['status'], { dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/secrets: {3}1 already committed/);
    const json = JSON.parse((await cli(['status', '--json'], { dir })).stdout) as { secrets: unknown[] };
    expect(json.secrets).toEqual([{ file: 'knowledge.yaml', where: 'remote_secret', rule: 'github-token', fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), commit: added }]);

    // removed since: the history still holds it, and doctor says which commit added it
    await cli(['delete', 'knowledge', 'remote_secret'], { dir });
    const doctor = await cli(['doctor', '--secrets'], { dir });
    expect(doctor.code).toBe(3);
    expect(doctor.stdout).toContain(`${added.slice(0, 12)} knowledge.yaml: remote_secret: rule github-token`);
    expect(doctor.stdout).toContain(`${messaged.slice(0, 12)} (commit message): message: rule slack-token`);
    expect(doctor.stdout).toMatch(/secrets: 2 found in \d+ commit\(s\)/);
    for (const r of [write, status, doctor]) for (const secret of [T.github, T.slack]) expect(r.stdout + r.stderr).not.toContain(secret);

    // history shows it redacted: log, show, diff (text and structural), a file at a revision
    const shown = await Promise.all(
      [
        ['log'],
        ['log', 'knowledge', '--key', 'remote_secret'],
        ['--json', 'log', 'knowledge', '--key', 'remote_secret'],
        ['show', added],
        ['show', messaged],
        ['show', `${added}:knowledge.yaml`],
        ['diff', `${added}~1`, 'HEAD'],
        ['diff', `${added}~1`, 'HEAD', '--structural'],
        ['--json', 'diff', `${added}~1`, 'HEAD', '--structural'],
      ].map((args) => cli(args, { dir })),
    );
    for (const r of shown) {
      expect(r.code, r.stderr).toBe(0);
      for (const secret of [T.github, T.slack]) expect(r.stdout + r.stderr).not.toContain(secret);
    }
    expect(shown[1]!.stdout).toContain('"[redacted]" -> (absent)');
    expect(shown[5]!.stdout).toContain('remote_secret: [redacted]');

    // allowed by fingerprint: no longer reported
    const fps = [T.github, T.slack].map((t) => scanText(t)[0]!.fingerprint);
    await cli(['write', '.gitstate/secrets-allow.yaml'], { dir, input: `"*":\n${fps.map((f) => `  - fp:${f}\n`).join('')}` });
    const after = await cli(['doctor', '--secrets', '--json'], { dir });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ secrets: { findings: [], allowed: 2 } });
    assertRepoHealthy(dir);
  });
});

describe('history shows a value under a sensitive key name redacted', () => {
  it('in show, diff and log --key, as the scanner would have refused it', async () => {
    const dir = await newRepo();
    await writeFile(join(dir, 'environments.yaml'), 'db:\n  host: db1\n  password: hunter2-correct-horse\n  token: ${VAULT_TOKEN}\n');
    noHook(dir, 'by hand, hook skipped');
    const runs = [['show', 'HEAD'], ['diff', 'HEAD~1', 'HEAD', '--structural'], ['log', 'environments', '--key', 'db.password'], ['show', 'HEAD:environments.yaml']];
    for (const [args, r] of await Promise.all(runs.map(async (args) => [args, await cli(args, { dir })] as const))) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('hunter2');
      if (args[0] !== 'log') expect(r.stdout).toContain('db1'); // the rest is shown as it is
    }
    // a placeholder is no secret: shown as it is
    expect((await cli(['show', 'HEAD'], { dir })).stdout).toContain('token: ${VAULT_TOKEN}');
  });

  it('a token as a file name, a key or a commit subject is shown redacted by stats, show and diff, text and JSON', async () => {
    const dir = await newRepo();
    await writeFile(join(dir, `${T.github}.yaml`), 'a: 1\n');
    await writeFile(join(dir, 'knowledge.yaml'), `${T.npm}: value\n`);
    git(dir, 'add', '-A');
    noHook(dir, `add note ${T.slack}`);
    const runs = [['stats'], ['--json', 'stats'], ['show', 'HEAD'], ['--json', 'show', 'HEAD'], ['diff', 'HEAD~1', 'HEAD', '--structural'], ['--json', 'diff', 'HEAD~1', 'HEAD', '--structural'], ['log']];
    for (const [args, r] of await Promise.all(runs.map(async (args) => [args, await cli(args, { dir })] as const))) {
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      for (const secret of [T.github, T.npm, T.slack]) expect(r.stdout, `${args.join(' ')}`).not.toContain(secret);
    }
  });

  it('values over several lines or in flow maps too: a key block, a block scalar, a flow map', async () => {
    const dir = await newRepo();
    const pem = T.pem.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
    await writeFile(join(dir, 'environments.yaml'), `tls:\n  cert: |\n${pem}\ndb:\n  password: |\n    hunter2-block-secret\ncreds: {password: flowsecret99, user: bob}\n`);
    noHook(dir, 'by hand, hook skipped');
    const runs = [['show', 'HEAD'], ['show', 'HEAD:environments.yaml'], ['diff', 'HEAD~1', 'HEAD'], ['--json', 'show', 'HEAD'], ['diff', 'HEAD~1', 'HEAD', '--structural']];
    for (const [args, r] of await Promise.all(runs.map(async (args) => [args, await cli(args, { dir })] as const))) {
      expect(r.code, r.stderr).toBe(0);
      for (const secret of ['MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn', 'hunter2-block-secret', 'flowsecret99']) expect(r.stdout, `${args.join(' ')}: ${secret}`).not.toContain(secret);
      expect(r.stdout).toContain('bob');
    }
  });
});

describe('the pre-commit hook runs the commit guard', () => {
  it.each([
    ['a token in a comment of a state file', async (d: string) => writeFile(join(d, 'knowledge.yaml'), `# ${T.github}\na: 1\n`), /knowledge\.yaml: line 1: looks like a secret \(rule github-token/],
    ['a token in a file that is not a state file', async (d: string) => writeFile(join(d, 'notes.txt'), `key ${T.aws}\n`), /notes\.txt: line 1: looks like a secret \(rule aws-access-key/],
    ['a token as a file name', async (d: string) => writeFile(join(d, `${T.npm}.yaml`), 'a: 1\n'), /the file name \[redacted\]\.yaml: looks like a secret/],
    ['a file under .gitstate/local/', async (d: string) => { await mkdir(join(d, '.gitstate/local'), { recursive: true }); await writeFile(join(d, '.gitstate/local/x.json'), '{}\n'); }, /under \.gitstate\/local\/, which is local/],
    // with core.ignorecase=false, as native git sets it on a case-sensitive file system (isomorphic-git's init sets true)
    ['a name differing only in case', async (d: string) => { git(d, 'config', 'core.ignorecase', 'false'); await writeFile(join(d, 'Knowledge.yaml'), 'a: 1\n'); }, /Knowledge\.yaml differs from knowledge\.yaml only in case/],
  ])('%s is refused', async (_name, make, error) => {
    const dir = await newRepo();
    const head = headOid(dir);
    await make(dir);
    git(dir, 'add', '-Af');
    const r = await byHand(dir, 'by hand');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(error);
    for (const secret of [T.github, T.aws, T.npm]) expect(r.stderr).not.toContain(secret);
    expect(headOid(dir)).toBe(head);
  });

  it('an author git would record wrongly is refused, naming the part and its value', async () => {
    const dir = await newRepo();
    await writeFile(join(dir, 'knowledge.yaml'), 'a: 1\n');
    git(dir, 'add', '-A');
    const head = headOid(dir);
    const email = await byHand(dir, 'by hand', { GIT_AUTHOR_EMAIL: 'plain' });
    expect(email.code).not.toBe(0);
    expect(email.stderr).toMatch(/the commit author's email \("plain"\) is not an email address like name@example\.com/);
    const name = await byHand(dir, 'by hand', { GIT_COMMITTER_NAME: 'Ann\tLee' });
    expect(name.code).not.toBe(0);
    expect(name.stderr).toMatch(/the committer's name \("Ann\\tLee"\) may not contain "<", ">" or control characters/);
    expect(headOid(dir)).toBe(head);
  });

  it('an author holding a token is refused; a secret HEAD already holds is not', async () => {
    const dir = await newRepo();
    await writeFile(join(dir, 'knowledge.yaml'), 'a: 1\n');
    git(dir, 'add', '-A');
    const bad = await byHand(dir, 'by hand', { GIT_AUTHOR_NAME: `ci ${T.gitlab}` });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/the commit author: looks like a secret \(rule gitlab-token/);
    await writeFile(join(dir, 'knowledge.yaml'), `remote_secret: ${T.github}\n`);
    noHook(dir, 'pulled');
    await writeFile(join(dir, 'knowledge.yaml'), `remote_secret: ${T.github}\nmine: 2\n`);
    git(dir, 'add', '-A');
    expect((await byHand(dir, 'my change beside it')).code).toBe(0);
  });
});
