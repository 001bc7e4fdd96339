import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { History } from '../../src/history/history.js';
import { HistoryIndex } from '../../src/history/index-file.js';
import { iso } from '../../src/git/iso.js';
import { ConflictError } from '../../src/errors.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const byHand = (dir: string, ...args: string[]) => git(dir, '-c', 'user.name=Hand', '-c', 'user.email=hand@example.com', ...args);

describe('log', () => {
  it('lists commits for the repo and for a file, newest first, with -n and --since', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    await repo.set('environments', 'dev.namespace', 'dev');
    await repo.set('knowledge', 'a', 2);
    const history = new History(repo);
    expect((await history.log()).map((e) => e.subject)).toEqual([
      'set knowledge.yaml a',
      'set environments.yaml dev.namespace',
      'set knowledge.yaml a',
      'init state repository',
    ]);
    const forFile = await history.log({ file: 'knowledge' });
    expect(forFile).toHaveLength(3); // two sets and init
    expect(forFile[0]).toMatchObject({ commit: headOid(repo.dir), op: 'set', files: ['knowledge.yaml'], host: expect.any(String) });
    expect(await history.log({ file: 'knowledge', limit: 1 })).toHaveLength(1);
    expect(await history.log({ since: new Date(Date.now() + 3_600_000) })).toEqual([]);
    // Same answer as native git.
    expect(forFile.map((e) => e.commit).join('\n')).toBe(git(repo.dir, 'log', '--format=%H', '--', 'knowledge.yaml').trim());
  });

  it('key history lists only commits that changed the value, old and new, across gitstate and native git commits', async () => {
    const repo = await tempRepo();
    await repo.append('current_work', 'active_issues', { key: 'A', status: 'Open' });
    await repo.set('current_work', 'active_issues[key=A].summary', 'not the status');
    await writeFile(join(repo.dir, 'current_work.yaml'), 'active_issues:\n  - key: A\n    status: Review\n    summary: not the status\n');
    byHand(repo.dir, 'commit', '-qam', 'status by hand');
    await repo.set('current_work', 'active_issues[key=A].status', 'Done');
    const entries = await new History(repo).log({ file: 'current_work', key: 'active_issues[key=A].status' });
    expect(entries.map((e) => [e.subject, e.before, e.after])).toEqual([
      ['set current_work.yaml active_issues[key=A].status', 'Review', 'Done'],
      ['status by hand', 'Open', 'Review'],
      ['append current_work.yaml active_issues', undefined, 'Open'],
    ]);
    const blame = await new History(repo).blame('current_work', 'active_issues[key=A].summary');
    expect(blame).toMatchObject({ subject: 'set current_work.yaml active_issues[key=A].summary', op: 'set' });
  });

  it('follows merge commits made with native git', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'main_side', 1);
    byHand(repo.dir, 'switch', '-qc', 'side', 'HEAD~1');
    await writeFile(join(repo.dir, 'shared_context.yaml'), 'side: true\n');
    byHand(repo.dir, 'commit', '-qam', 'side change');
    byHand(repo.dir, 'switch', '-q', 'main');
    byHand(repo.dir, 'merge', '-q', '--no-edit', 'side');
    const history = new History(repo);
    const log = await history.log();
    expect(log[0]!.parents).toHaveLength(2);
    expect(log.map((e) => e.subject)).toEqual(expect.arrayContaining(['side change', 'set knowledge.yaml main_side']));
    expect((await history.log({ file: 'shared_context' })).map((e) => e.subject)).toContain('side change');
    const key = await history.log({ file: 'shared_context', key: 'side' });
    expect(key.map((e) => e.after)).toContain(true);
    // gitstate keeps writing on top of the merge
    await repo.set('shared_context', 'after_merge', 1);
    assertRepoHealthy(repo.dir);
  });

  it('indexing through native git (many commits) gives the same records as reading them in-process', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    byHand(repo.dir, 'switch', '-qc', 'side');
    await writeFile(join(repo.dir, 'notes.yaml'), 'n: 1\n');
    byHand(repo.dir, 'add', 'notes.yaml');
    byHand(repo.dir, 'commit', '-qm', 'add notes by hand');
    byHand(repo.dir, 'switch', '-q', 'main');
    await repo.delete('knowledge', 'a');
    byHand(repo.dir, 'merge', '-q', '--no-edit', 'side');
    await repo.delete('notes');
    const read = async (bulkMin: string) => {
      await rm(join(repo.gitdir, 'gitstate'), { recursive: true, force: true });
      process.env.GITSTATE_HISTORY_BULK_MIN = bulkMin;
      try {
        await new History(repo).log();
        return (await readFile(join(repo.gitdir, 'gitstate/history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).sort((x, y) => x.c.localeCompare(y.c));
      } finally {
        delete process.env.GITSTATE_HISTORY_BULK_MIN;
      }
    };
    const inProcess = await read('100000');
    const native = await read('0');
    expect(native).toEqual(inProcess);
    expect(native.some((r: { p: string[] }) => r.p.length === 2)).toBe(true);
  });

  it("indexing commits never loads isomorphic-git: gitstate's own are read directly, a fetched pack's through one native git log", async () => {
    const repo = await tempRepo();
    for (let i = 0; i < 3; i++) await repo.set('knowledge', `k${i}`, i);
    const store = await repo.store();
    const isoReads = (['readCommit', 'readTree', 'readBlob', 'readObject'] as const).map((method) => vi.spyOn(iso(), method));
    await rm(join(repo.gitdir, 'gitstate'), { recursive: true, force: true });
    const direct = new HistoryIndex(store);
    await direct.update(await store.headOid());
    expect([...direct.walk(await store.headOid())]).toHaveLength(4);
    // commits git packed with deltas or in a big pack are not readable directly: git reads them all at once
    const storedCommit = vi.spyOn(store, 'storedCommit').mockReturnValue(null);
    await rm(join(repo.gitdir, 'gitstate'), { recursive: true, force: true });
    const fetched = new HistoryIndex(store);
    await fetched.update(await store.headOid());
    expect([...fetched.walk(await store.headOid())].map((r) => r.c)).toEqual([...direct.walk(await store.headOid())].map((r) => r.c));
    expect(storedCommit).toHaveBeenCalledTimes(1);
    for (const read of isoReads) expect(read).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  it('native git indexes only what is missing: it stops at the commits already indexed, merges included', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    await new History(repo).log(); // the start is indexed
    byHand(repo.dir, 'switch', '-qc', 'side');
    for (let i = 0; i < 3; i++) {
      await writeFile(join(repo.dir, `side${i}.yaml`), `n: ${i}\n`);
      byHand(repo.dir, 'add', '.');
      byHand(repo.dir, 'commit', '-qm', `side ${i}`);
    }
    byHand(repo.dir, 'switch', '-q', 'main');
    await repo.set('knowledge', 'b', 2);
    byHand(repo.dir, 'merge', '-q', '--no-edit', 'side');
    await repo.set('knowledge', 'c', 3);
    const indexed = async (bulkMin: string) => {
      const file = join(repo.gitdir, 'gitstate/history.jsonl');
      const before = (await readFile(file, 'utf8')).trim().split('\n').slice(0, 2).join('\n');
      await writeFile(file, `${before}\n`); // back to the first two commits
      process.env.GITSTATE_HISTORY_BULK_MIN = bulkMin;
      try {
        await new History(repo).log();
        return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      } finally {
        delete process.env.GITSTATE_HISTORY_BULK_MIN;
      }
    };
    const inProcess = await indexed('100000');
    const native = await indexed('0');
    // the same records, each commit once, parents before children
    const ids = native.map((r: { c: string }) => r.c);
    expect(new Set(ids).size).toBe(ids.length);
    expect(native.length).toBe(2 + 3 + 3); // two kept; side 0-2, b, the merge, c
    const position = new Map(ids.map((c: string, i: number) => [c, i]));
    for (const r of native) for (const p of r.p as string[]) expect(position.get(p)).toBeLessThan(position.get(r.c)!);
    const sorted = (rs: Array<{ c: string }>) => [...rs].sort((x, y) => x.c.localeCompare(y.c));
    expect(sorted(native)).toEqual(sorted(inProcess));
  });

  it('the history index ignores a torn last line and catches up', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    await new History(repo).log();
    await appendFile(join(repo.gitdir, 'gitstate/history.jsonl'), '{"c":"torn');
    await repo.set('knowledge', 'a', 2);
    expect((await new History(repo).log({ file: 'knowledge' })).map((e) => e.subject)).toEqual(['set knowledge.yaml a', 'set knowledge.yaml a', 'init state repository']);
  });
});

describe('show and diff', () => {
  it('show REV:FILE, show REV, diff text and structural', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const first = headOid(repo.dir);
    await repo.set('knowledge', 'a', 2);
    const history = new History(repo);
    expect(await history.fileAt(first.slice(0, 8), 'knowledge')).toContain('a: 1');
    expect(await history.fileAt('HEAD~1', 'knowledge')).toContain('a: 1');
    const shown = await history.show('HEAD');
    expect(shown.diffs).toHaveLength(1);
    expect(shown.diffs[0]!.patch).toContain('-a: 1\n+a: 2');
    expect(shown.diffs[0]!.changes).toMatchObject([{ kind: 'changed', path: 'a', before: 1, after: 2 }]);
    const diff = await history.diff(first, undefined, { structural: true });
    expect(diff.map((d) => d.path)).toEqual(['knowledge.yaml']);
    const r = await cli(['diff', 'HEAD~2', '--structural'], { dir: repo.dir });
    expect(r.stdout).toContain('knowledge.yaml\n  + a: 2');
    expect((await cli(['show', 'nope'], { dir: repo.dir })).code).toBe(3);
  });
});

describe('rollback, revert, undo', () => {
  it('reverts an old commit after later commits changed other keys of the same file', async () => {
    const repo = await tempRepo();
    await repo.merge('environments', undefined, { dev: { namespace: 'dev' }, qa: { namespace: 'qa' } });
    await repo.set('environments', 'dev.namespace', 'broken');
    const bad = headOid(repo.dir);
    await repo.set('environments', 'qa.namespace', 'qa-2');
    await repo.set('environments', 'prod', { namespace: 'prod' });
    const before = commitCount(repo.dir);
    await new History(repo).revert(bad);
    expect(await repo.get('environments')).toEqual({ dev: { namespace: 'dev' }, qa: { namespace: 'qa-2' }, prod: { namespace: 'prod' } });
    expect(commitCount(repo.dir)).toBe(before + 1);
    expect(git(repo.dir, 'log', '-1', '--format=%s%n%(trailers:key=Gitstate-Op,valueonly)')).toMatch(/^revert [0-9a-f]{7}: set environments.yaml dev.namespace\nrevert/);
    assertRepoHealthy(repo.dir);
  });

  it('a real conflict exits 4 with nothing written, unless --force', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    const target = headOid(repo.dir);
    await repo.set('knowledge', 'a', 2);
    const head = headOid(repo.dir);
    await expect(new History(repo).revert(target)).rejects.toThrow(ConflictError);
    const r = await cli(['revert', target], { dir: repo.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/changed again since: knowledge.yaml: a/);
    expect(headOid(repo.dir)).toBe(head);
    expect((await cli(['revert', target, '--force'], { dir: repo.dir })).code).toBe(0);
    expect(await repo.get('knowledge')).toEqual({});
  });

  it('rollback then undo restores the newer content; history is only ever added to', async () => {
    const repo = await tempRepo();
    await repo.set('current_work', 'active_issues', [{ key: 'A', status: 'Open' }]);
    const old = headOid(repo.dir);
    await repo.set('current_work', 'active_issues[key=A].status', 'Done');
    await repo.append('current_work', 'active_branches', { name: 'feature/a' });
    const newer = await readFile(join(repo.dir, 'current_work.yaml'), 'utf8');
    const history = new History(repo);
    await history.rollback('current_work', old);
    expect(await repo.get('current_work', 'active_issues[0].status')).toBe('Open');
    await history.undo();
    expect(await readFile(join(repo.dir, 'current_work.yaml'), 'utf8')).toBe(newer);
    expect(git(repo.dir, 'merge-base', '--is-ancestor', old, 'HEAD')).toBe('');
    assertRepoHealthy(repo.dir);
  });

  it('rollback is validated like any write', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'current_work.yaml'), 'active_issues: 5\n');
    byHand(repo.dir, 'commit', '--no-verify', '-qam', 'bad by hand'); // past the pre-commit hook, on purpose
    const bad = headOid(repo.dir);
    await writeFile(join(repo.dir, 'current_work.yaml'), 'active_issues: []\n');
    byHand(repo.dir, 'commit', '-qam', 'fixed by hand');
    const r = await cli(['rollback', 'current_work', '--to', bad], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/current_work\.yaml: active_issues: expected array/);
  });
});
