import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { OperationError, PathError, RepoError, SchemaError } from '../../src/errors.js';
import { assertRepoHealthy, cleanupTempDirs, commitCount, git, headOid, tempDir, initRepo, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

describe('StateRepo.init', () => {
  it('creates the seed layout, pinned config and one commit', async () => {
    const repo = await initRepo();
    expect(repo.created).toBe(true);
    expect(git(repo.dir, 'ls-files').split('\n').filter(Boolean)).toEqual([
      '.gitignore',
      '.gitstate/format',
      'current_work.yaml',
      'environments.yaml',
      'knowledge.yaml',
      'projects/.gitkeep',
      'shared_context.yaml',
    ]);
    expect(commitCount(repo.dir)).toBe(1);
    expect(git(repo.dir, 'config', 'core.splitIndex').trim()).toBe('false');
    expect(git(repo.dir, 'config', 'index.version').trim()).toBe('2');
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('init');
    assertRepoHealthy(repo.dir);
  });

  it('is idempotent: a second init changes nothing', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const config = await readFile(join(repo.gitdir, 'config'), 'utf8');
    const again = await StateRepo.init(repo.dir);
    expect(again.created).toBe(false);
    expect(headOid(repo.dir)).toBe(head);
    expect(await readFile(join(repo.gitdir, 'config'), 'utf8')).toBe(config);
  });

  it('keeps files already in the directory and commits them as they are', async () => {
    const dir = join(await tempDir(), 'state');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'knowledge.yaml'), 'kept: true  # mine\n');
    await writeFile(join(dir, 'README.md'), '# notes\n');
    const repo = await StateRepo.init(dir);
    expect(await readFile(join(dir, 'knowledge.yaml'), 'utf8')).toBe('kept: true  # mine\n');
    // a file gitstate does not manage is left out, and ignored (test/core/init.test.ts has the rest)
    expect(git(dir, 'ls-files')).not.toContain('README.md');
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('# notes\n');
    assertRepoHealthy(repo.dir);
  });

  it('open fails clearly where there is no repository', async () => {
    await expect(StateRepo.open(await tempDir())).rejects.toThrow(RepoError);
    const dir = await tempDir();
    await expect(StateRepo.open(dir)).rejects.toThrow(`no state repository at ${dir}`);
  });
});

describe('writes', () => {
  it('each mutation is exactly one commit of only the changed file, with trailers', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const result = await repo.append('current_work', 'active_issues', { key: 'AAP-1', summary: 'Fix', status: 'Open' });
    expect(result.changed).toBe(true);
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(headOid(repo.dir)).toBe(result.commit);
    expect(commitCount(repo.dir)).toBe(before + 1);
    expect(git(repo.dir, 'diff-tree', '--no-commit-id', '--name-only', '-r', 'HEAD').trim()).toBe('current_work.yaml');
    const message = git(repo.dir, 'log', '-1', '--format=%B');
    expect(message.split('\n')[0]).toBe('append current_work.yaml active_issues');
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:only,unfold)').trim().split('\n')).toEqual([
      'Gitstate-Op: append',
      'Gitstate-File: current_work.yaml',
      'Gitstate-Key: active_issues',
      expect.stringMatching(/^Gitstate-Host: \S+/),
    ]);
    assertRepoHealthy(repo.dir);
  });

  it('leaves each index entry with the stat data of the file as renamed, so git trusts it without re-reading', async () => {
    const repo = await initRepo(); // a copy's files have new stat data its index does not know
    await repo.set('knowledge', 'value', 1);
    await repo.transaction(async (t) => {
      await t.set('knowledge', 'value', 2);
      await t.set('notes/new', 'value', 3);
    });
    for (const file of ['knowledge.yaml', 'notes/new.yaml']) {
      const entry = indexEntry(repo.dir, file);
      const actual = await lstat(join(repo.dir, file), { bigint: true });
      const seconds = (ns: bigint) => `${ns / 1_000_000_000n}:${ns % 1_000_000_000n}`;
      expect(entry.mtime, file).toBe(seconds(actual.mtimeNs));
      expect(entry.ctime, file).toBe(seconds(actual.ctimeNs));
      expect(entry.ino, file).toBe(String(actual.ino));
      expect(entry.size, file).toBe(String(actual.size));
    }
    // git trusts ctime (its default): a stale entry would show here
    expect(() => git(repo.dir, 'config', 'core.trustctime')).toThrow();
    expect(git(repo.dir, 'diff-files', '--name-only')).toBe('');
    assertRepoHealthy(repo.dir);
  });

  it('set, append, delete, merge and write do what they say', async () => {
    const repo = await tempRepo();
    await repo.append('current_work', 'active_issues', { key: 'AAP-1', status: 'Open' });
    await repo.append('current_work', 'active_issues', { key: 'AAP-2', status: 'Open' });
    await repo.set('current_work', 'active_issues[key=AAP-2].status', 'Done');
    expect(await repo.get('current_work', 'active_issues.1.status')).toBe('Done');
    await repo.delete('current_work', 'active_issues[key=AAP-1]');
    expect(await repo.get('current_work', 'active_issues')).toEqual([{ key: 'AAP-2', status: 'Done' }]);
    await repo.merge('environments', 'dev', { namespace: 'dev-ns', deployed_apps: [{ name: 'api', image: 'api:1' }] });
    await repo.merge('environments', 'dev', { last_deploy: '2026-11-24T10:00:00Z' });
    expect(await repo.get('environments', 'dev')).toEqual({
      namespace: 'dev-ns',
      deployed_apps: [{ name: 'api', image: 'api:1' }],
      last_deploy: '2026-11-24T10:00:00Z',
    });
    await repo.write('notes/today', '# my notes\ntodo: [a, b]\n');
    expect(await readFile(join(repo.dir, 'notes/today.yaml'), 'utf8')).toBe('# my notes\ntodo: [a, b]\n');
    await repo.delete('notes/today');
    expect(git(repo.dir, 'ls-files', 'notes')).toBe('');
    assertRepoHealthy(repo.dir);
  });

  it('a file where a folder is needed (made by another tool) is refused, naming it, with nothing written', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'notes'), 'not a folder\n');
    const head = headOid(repo.dir);
    const err = await repo.set('notes/a', 'k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as Error).message).toBe('"notes/a.yaml" cannot be a state file: notes is a file, not a folder');
    expect(headOid(repo.dir)).toBe(head);
  });

  it('accepts the seed-style "state/" prefix and files in folders', async () => {
    const repo = await tempRepo();
    await repo.set('state/projects/backend/current_work', 'branch', 'main');
    expect(await repo.get('projects/backend/current_work.yaml', 'branch')).toBe('main');
    await repo.set('learned/patterns', 'retry', 'use backoff');
    expect(git(repo.dir, 'ls-files', 'learned')).toBe('learned/patterns.yaml\n');
    assertRepoHealthy(repo.dir);
  });

  it('a write that changes nothing makes no commit', async () => {
    const repo = await tempRepo();
    const first = await repo.set('knowledge', 'a', 1);
    const again = await repo.set('knowledge', 'a', 1);
    expect(again).toEqual({ commit: first.commit, changed: false, files: [] });
    expect(headOid(repo.dir)).toBe(first.commit);
  });

  it('a schema break is rejected with nothing written', async () => {
    const repo = await tempRepo();
    await repo.append('current_work', 'active_issues', { key: 'AAP-1' });
    const head = headOid(repo.dir);
    const bytes = await readFile(join(repo.dir, 'current_work.yaml'));
    // A key may be a number (old imports wrote them), never a list.
    await expect(repo.set('current_work', 'active_issues[0].key', ['AAP-1'])).rejects.toThrow(SchemaError);
    await expect(repo.set('current_work', 'active_issues[0].key', ['AAP-1'])).rejects.toThrow('current_work.yaml: active_issues[0].key: expected string');
    expect(headOid(repo.dir)).toBe(head);
    expect(await readFile(join(repo.dir, 'current_work.yaml'))).toEqual(bytes);
    assertRepoHealthy(repo.dir);
  });

  it('honours user schemas in .gitstate/schemas', async () => {
    const repo = await tempRepo();
    const schema = { 'x-gitstate-files': ['notes/*.yaml'], type: 'object', properties: { title: { type: 'string' } }, required: ['title'] };
    await repo.write('.gitstate/schemas/notes.schema.json', JSON.stringify(schema));
    await expect(repo.set('notes/a', 'body', 'x')).rejects.toThrow(/notes\/a\.yaml: title: expected string.*notes\.schema\.json/);
    await repo.merge('notes/a', undefined, { title: 'A', body: 'x' });
    expect(await repo.get('notes/a', 'title')).toBe('A');
  });
});

describe('transactions', () => {
  it('several operations on several files are one commit', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    const result = await repo.transaction(async (tx) => {
      await tx.append('current_work', 'active_issues', { key: 'AAP-9' });
      await tx.set('current_work', 'active_issues[key=AAP-9].status', 'Open');
      await tx.set('knowledge', 'last_issue', 'AAP-9');
      expect(await tx.get('current_work', 'active_issues[0].status')).toBe('Open');
    });
    expect(result.files.sort()).toEqual(['current_work.yaml', 'knowledge.yaml']);
    expect(commitCount(repo.dir)).toBe(before + 1);
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toMatch(/^batch: 3 operations on current_work.yaml, knowledge.yaml/);
    assertRepoHealthy(repo.dir);
  });

  it('is all or nothing: a failing operation leaves every file and HEAD as they were', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const files = await Promise.all(['current_work.yaml', 'knowledge.yaml'].map((f) => readFile(join(repo.dir, f))));
    await expect(
      repo.transaction(async (tx) => {
        await tx.set('knowledge', 'a', 1);
        await tx.append('knowledge', 'a', 2); // a is a number: not a list
      }),
    ).rejects.toThrow(OperationError);
    await expect(
      repo.transaction(async (tx) => {
        await tx.set('knowledge', 'a', 1);
        await tx.set('current_work', 'active_issues', 'not a list');
      }),
    ).rejects.toThrow(SchemaError);
    expect(headOid(repo.dir)).toBe(head);
    expect(await Promise.all(['current_work.yaml', 'knowledge.yaml'].map((f) => readFile(join(repo.dir, f))))).toEqual(files);
    assertRepoHealthy(repo.dir);
  });
});

describe('recovery', () => {
  it('commits hand edits on the path being written separately, before the write', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'by_hand: true\n');
    const before = commitCount(repo.dir);
    await repo.set('knowledge', 'by_tool', true);
    expect(commitCount(repo.dir)).toBe(before + 2);
    expect(git(repo.dir, 'show', 'HEAD~1:knowledge.yaml')).toBe('by_hand: true\n');
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)', 'HEAD~1').trim()).toBe('recover');
    expect(await repo.get('knowledge')).toEqual({ by_hand: true, by_tool: true });
    assertRepoHealthy(repo.dir);
  });

  it('undoes a write interrupted after its files were replaced but before the ref moved', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const original = await readFile(join(repo.dir, 'knowledge.yaml'), 'utf8');
    // What an interrupted write leaves: the journal, the new file in place, HEAD unmoved.
    const store = await repo.store();
    const content = Buffer.from('half: written\n');
    const after = await store.hashBlob(content);
    await writeFile(join(repo.gitdir, 'gitstate-pending.json'), JSON.stringify({ pid: 1, parent: head, files: [{ path: 'knowledge.yaml', after }] }));
    await writeFile(join(repo.dir, 'knowledge.yaml'), content);
    const report = await repo.recover();
    expect(report.restored).toEqual(['knowledge.yaml']);
    expect(await readFile(join(repo.dir, 'knowledge.yaml'), 'utf8')).toBe(original);
    expect(headOid(repo.dir)).toBe(head);
    assertRepoHealthy(repo.dir);
  });

  it('keeps a hand edit made after an interrupted write (not the journal\'s content)', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    await writeFile(join(repo.gitdir, 'gitstate-pending.json'), JSON.stringify({ pid: 1, parent: head, files: [{ path: 'knowledge.yaml', after: '0'.repeat(40) }] }));
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'mine: 1\n');
    await repo.set('knowledge', 'tool', 2);
    expect(await repo.get('knowledge')).toEqual({ mine: 1, tool: 2 });
    assertRepoHealthy(repo.dir);
  });
});

/** One entry of `git ls-files --debug`: its ctime, mtime, ino and size as git stored them. */
function indexEntry(dir: string, file: string): Record<'ctime' | 'mtime' | 'ino' | 'size', string> {
  const lines = git(dir, 'ls-files', '--debug', '--', file).split('\n');
  const field = (name: string) => lines.join(' ').match(new RegExp(`\\b${name}: (\\S+)`))?.[1] ?? '';
  return { ctime: field('ctime'), mtime: field('mtime'), ino: field('ino'), size: field('size') };
}
