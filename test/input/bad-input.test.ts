/**
 * Bad input, table-driven: every case gets the documented exit code, a one-line
 * error naming what was wrong and where, and leaves nothing written — HEAD, the
 * index and every byte of the work tree unchanged. The process stays healthy.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { assertRepoHealthy, cleanupTempDirs, cli, git, headOid, tempDir, tempRepo, workTreeSnapshot } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';

afterAll(cleanupTempDirs);

const snapshot = workTreeSnapshot;

interface Case {
  name: string;
  args: string[];
  input?: string;
  code: number;
  /** The one line of stderr must match this. */
  error: RegExp;
  /** Prepare the repo (files on disk, committed by hand where needed) before the snapshot. */
  setup?: (dir: string) => Promise<void>;
}

const byHand = (dir: string, message: string) => git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', message); // bad on purpose: past the pre-commit hook
const outside = { dir: '' };
const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n');

const cases: Case[] = [
  { name: 'malformed YAML on disk, then a set on it', args: ['set', 'knowledge', 'a', '1'], code: 3, error: /^gitstate: invalid YAML in knowledge\.yaml at line \d+, column \d+: /, setup: async (d) => { await writeFile(join(d, 'knowledge.yaml'), 'a: 1\nb: [unclosed\n'); byHand(d, 'bad by hand'); } },
  { name: 'duplicate keys on disk', args: ['append', 'knowledge', 'l', 'x'], code: 3, error: /duplicate key "a"/, setup: async (d) => { await writeFile(join(d, 'knowledge.yaml'), 'a: 1\na: 2\n'); byHand(d, 'dup by hand'); } },
  { name: 'invalid UTF-8 on disk', args: ['set', 'knowledge', 'a', '1'], code: 3, error: /knowledge\.yaml is not valid UTF-8/, setup: async (d) => { await writeFile(join(d, 'knowledge.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a])); byHand(d, 'latin1 by hand'); } },
  { name: 'write with a YAML syntax error', args: ['write', 'notes/a'], input: 'a: [1, 2\n', code: 3, error: /^gitstate: invalid YAML in the text given for notes\/a\.yaml at line \d+/ },
  { name: 'write with duplicate keys', args: ['write', 'notes/a'], input: 'k: 1\nk: 2\n', code: 3, error: /duplicate key "k"/ },
  { name: 'an alias bomb', args: ['write', 'notes/a'], input: bomb, code: 3, error: /alias/ },
  { name: '10,000-deep nesting', args: ['write', 'notes/a'], input: `${'['.repeat(10_000)}${']'.repeat(10_000)}`, code: 3, error: /nested/ },
  { name: 'NUL bytes in written text', args: ['write', 'notes/a'], input: 'a: "x\u0000y"\n', code: 3, error: /control character U\+0000/ },
  { name: 'a file over 1 MiB', args: ['write', 'notes/a'], input: `a: "${'x'.repeat(1_100_000)}"\n`, code: 3, error: /limit is 1048576 bytes/ },
  { name: 'a value over 256 KiB', args: ['batch'], input: `${JSON.stringify({ op: 'set', file: 'knowledge', key: 'big', value: 'x'.repeat(300_000) })}\n`, code: 3, error: /value for big is \d+ bytes; the limit is 262144/ },
  { name: 'a NUL byte in a value', args: ['batch'], input: `${JSON.stringify({ op: 'set', file: 'knowledge', key: 'a', value: 'x\u0000y' })}\n`, code: 3, error: /NUL byte/ },
  { name: '".." in the file name', args: ['set', '../escape', 'a', '1'], code: 3, error: /contains "\.\."/ },
  { name: 'a nested ".."', args: ['get', 'projects/../../etc/passwd'], code: 3, error: /contains "\.\."/ },
  { name: 'an absolute path', args: ['set', '/etc/passwd', 'a', '1'], code: 3, error: /is absolute/ },
  { name: 'percent-encoded traversal', args: ['set', '%2e%2e/x', 'a', '1'], code: 3, error: /unsupported character/ },
  { name: 'a backslash path', args: ['set', '..\\x', 'a', '1'], code: 3, error: /backslash/ },
  { name: 'a symlink to a file outside', args: ['set', 'linked', 'a', '1'], code: 3, error: /symbolic link/, setup: async (d) => { await writeFile(join(outside.dir, 'target.yaml'), 'a: 0\n'); await symlink(join(outside.dir, 'target.yaml'), join(d, 'linked.yaml')); } },
  { name: 'a symlinked folder', args: ['write', 'out/x'], input: 'a: 1\n', code: 3, error: /symbolic link/, setup: async (d) => { await symlink(outside.dir, join(d, 'out')); } },
  { name: '.git/config', args: ['write', '.git/config'], input: 'a: 1\n', code: 3, error: /git's own files/ },
  { name: '.git/HEAD', args: ['set', '.git/HEAD', 'a', '1'], code: 3, error: /git's own files/ },
  { name: '.gitignore', args: ['write', '.gitignore'], input: 'a: 1\n', code: 3, error: /git's own files/ },
  { name: 'config.json', args: ['write', 'config.json'], input: '{}', code: 3, error: /config\.json.*never stored/ },
  { name: 'key path a..b', args: ['set', 'knowledge', 'a..b', '1'], code: 3, error: /invalid key path "a\.\.b": empty segment/ },
  { name: 'key path a[', args: ['set', 'knowledge', 'a[', '1'], code: 3, error: /unclosed "\["/ },
  { name: 'key path a[x]', args: ['get', 'knowledge', 'a[x]'], code: 3, error: /neither an index/ },
  { name: 'key path with a trailing dot', args: ['set', 'knowledge', 'a.', '1'], code: 3, error: /trailing "\."/ },
  { name: 'a selector that matches nothing', args: ['set', 'current_work', 'active_issues[key=NOPE].status', 'x'], code: 3, error: /no item in active_issues of current_work\.yaml has key=NOPE/ },
  { name: 'a selector that matches two items', args: ['set', 'current_work', 'active_issues[status=Open].status', 'x'], code: 3, error: /2 items .* have status=Open; a selector must match exactly one/ },
  { name: 'append to a map', args: ['append', 'current_work', 'active_issues[0]', 'x'], code: 3, error: /cannot append to active_issues\[0\] in current_work\.yaml: it is a map, not a list/ },
  { name: 'append to a scalar', args: ['append', 'knowledge', 'n', 'x'], code: 3, error: /it is a number, not a list/ },
  { name: 'set through a scalar', args: ['set', 'knowledge', 'n.deeper', '1'], code: 3, error: /n in knowledge\.yaml is a number, not a map or list/ },
  { name: 'schema: an issue key that is a list', args: ['set', 'current_work', 'active_issues[0].key', '[42]'], code: 3, error: /current_work\.yaml: active_issues\[0\]\.key: expected string, received array/ },
  { name: 'schema: a namespace that is a number', args: ['set', 'environments', 'dev.namespace', '42'], code: 3, error: /environments\.yaml: dev\.namespace: expected string/ },
  { name: 'a secret', args: ['set', 'knowledge', 'db.password', 'hunter2'], code: 3, error: /db\.password: looks like a secret/ },
  { name: 'an unknown option', args: ['set', 'knowledge', 'a', '1', '--bogus'], code: 2, error: /unknown option '--bogus'/ },
  { name: 'an unknown command', args: ['frobnicate'], code: 2, error: /unknown command 'frobnicate'/ },
  { name: 'a missing argument', args: ['append', 'knowledge', 'l'], code: 2, error: /missing required argument 'value'/ },
  { name: 'a malformed batch line among good ones', args: ['batch'], input: `${JSON.stringify({ op: 'set', file: 'knowledge', key: 'ok', value: 1 })}\n{not json}\n`, code: 3, error: /batch line 2 is not valid JSON/ },
  { name: 'a batch line whose file escapes the state dir, after a good one', args: ['batch'], input: [{ op: 'set', file: 'knowledge', key: 'ok', value: 1 }, { op: 'set', file: '../x', key: 'q', value: 1 }].map((l) => JSON.stringify(l)).join('\n'), code: 3, error: /^gitstate: batch line 2: .*"\.\.\/x"/ },
  { name: 'a batch line whose key path does not parse, after a good one', args: ['batch'], input: [{ op: 'set', file: 'knowledge', key: 'ok', value: 1 }, { op: 'delete', file: 'knowledge', key: 'a..b' }].map((l) => JSON.stringify(l)).join('\n'), code: 3, error: /^gitstate: batch line 2: / },
  { name: 'an unknown batch op', args: ['batch'], input: `${JSON.stringify({ op: 'rename', file: 'knowledge' })}\n`, code: 3, error: /batch line 1 at "op"/ },
  { name: 'an atomic batch whose 3rd op fails', args: ['batch', '--atomic'], input: [{ op: 'set', file: 'knowledge', key: 'x', value: 1 }, { op: 'append', file: 'shared_context', key: 'l', value: 1 }, { op: 'append', file: 'knowledge', key: 'x', value: 2 }].map((l) => JSON.stringify(l)).join('\n'), code: 3, error: /batch line 3: cannot append to x in knowledge\.yaml/ },
  { name: 'a bad -n for log', args: ['log', '-n', 'many'], code: 2, error: /-n needs a whole number/ },
];

describe('bad input through the CLI', () => {
  beforeAll(async () => {
    outside.dir = await tempDir('gitstate-outside-');
  });

  it('has at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  // In-process (a child process per case costs ~300 ms); the built binary is checked against it below.
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one line, nothing written`, async () => {
      const repo = await tempRepo();
      await repo.append('current_work', 'active_issues', { key: 'A', status: 'Open' });
      await repo.append('current_work', 'active_issues', { key: 'B', status: 'Open' });
      await repo.set('knowledge', 'n', 5);
      await c.setup?.(repo.dir);
      const head = headOid(repo.dir);
      const status = git(repo.dir, 'status', '--porcelain');
      const files = await snapshot(repo.dir);
      const outsideFiles = await snapshot(outside.dir);

      const r = await runMain(c.args, { dir: repo.dir, input: c.input });

      expect(r.code, r.stderr).toBe(c.code);
      const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('(run with --help'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(c.error);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(headOid(repo.dir)).toBe(head);
      expect(git(repo.dir, 'status', '--porcelain')).toBe(status);
      expect(await snapshot(repo.dir)).toEqual(files);
      expect(await snapshot(outside.dir)).toEqual(outsideFiles);
      if (status === '') assertRepoHealthy(repo.dir);
    });
  }
});

describe('bad input through the built binary', () => {
  // one case of each kind: on disk, from stdin, a path, a usage error
  const sample = ['malformed YAML on disk, then a set on it', 'write with duplicate keys', '".." in the file name', 'an unknown option'];
  for (const name of sample) {
    it(`${name}: the same code and message as in-process`, async () => {
      const c = cases.find((k) => k.name === name)!;
      const runs = [];
      for (const run of [runMain, cli]) {
        const repo = await tempRepo();
        await c.setup?.(repo.dir);
        const head = headOid(repo.dir);
        const r = await run(c.args, { dir: repo.dir, input: c.input });
        expect(headOid(repo.dir)).toBe(head);
        runs.push({ code: r.code, stderr: r.stderr.replaceAll(repo.dir, '<dir>'), stdout: r.stdout });
      }
      expect(runs[1]).toEqual(runs[0]);
    });
  }
});

describe('bad input through the library', () => {
  it('typed errors with codes, nothing written, and the next good write works', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const attempts: Array<[() => Promise<unknown>, string, number]> = [
      [() => repo.set('../x', 'a', 1), 'PATH', 3],
      [() => repo.set('knowledge', 'a[', 1), 'KEY_PATH', 3],
      [() => repo.write('notes/x', 'a: [\n'), 'INVALID_YAML', 3],
      [() => repo.set('current_work', 'active_issues', 'nope'), 'SCHEMA', 3],
      [() => repo.append('knowledge', 'l', 'x'.repeat(300_000)), 'TOO_LARGE', 3],
      [() => repo.set('knowledge', 'api_token', 'abc123'), 'SECRET', 3],
      [() => repo.get('knowledge', 'missing'), 'NOT_FOUND', 3],
      [() => repo.transaction(async (tx) => { await tx.set('knowledge', 'a', 1); throw new Error('caller changed its mind'); }), '', 1],
    ];
    for (const [attempt, code, exitCode] of attempts) {
      const err = (await attempt().then(() => null, (e: unknown) => e)) as { code?: string; exitCode?: number; message: string } | null;
      expect(err, code).not.toBeNull();
      if (code) expect(err).toMatchObject({ code, exitCode });
      expect(err!.message.includes('\n')).toBe(false);
    }
    expect(headOid(repo.dir)).toBe(head);
    await repo.set('knowledge', 'fine', true);
    expect(await repo.get('knowledge', 'fine')).toBe(true);
    assertRepoHealthy(repo.dir);
  });

  it('a malformed file on disk is never overwritten: set refuses it, write refuses uncommitted content', async () => {
    const repo = await StateRepo.init(join(await tempDir(), 'state'));
    await mkdir(join(repo.dir, 'notes'));
    await writeFile(join(repo.dir, 'notes/bad.yaml'), 'a: [\n');
    await expect(repo.set('notes/bad', 'a', 1)).rejects.toMatchObject({ code: 'INVALID_YAML' });
    await expect(repo.write('notes/bad', 'a: 1\n')).rejects.toMatchObject({ code: 'INVALID_OPERATION', exitCode: 3 });
    await expect(repo.write('notes/bad', 'a: 1\n')).rejects.toThrow(/uncommitted changes on disk that fail validation/);
    expect(await readFile(join(repo.dir, 'notes/bad.yaml'), 'utf8')).toBe('a: [\n');
    // Once that content is in history (committed by hand), a write may replace it: nothing is lost.
    git(repo.dir, 'add', 'notes/bad.yaml');
    git(repo.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qm', 'bad by hand');
    await expect(repo.set('notes/bad', 'a', 1)).rejects.toMatchObject({ code: 'INVALID_YAML' });
    await repo.write('notes/bad', 'a: 1\n');
    expect(await readFile(join(repo.dir, 'notes/bad.yaml'), 'utf8')).toBe('a: 1\n');
    expect(git(repo.dir, 'show', 'HEAD~1:notes/bad.yaml')).toBe('a: [\n');
    assertRepoHealthy(repo.dir);
  });
});
