/**
 * Hand edits: status lists them, diff shows them, `gitstate commit` checks and
 * commits them, sync commits them first; an edit that looks half-written is
 * refused by all three and by the pre-pass before a write, unless --force.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { truncation } from '../../src/core/hand-edits.js';
import { StateRepo } from '../../src/core/repo.js';
import { addRemote } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';

afterAll(cleanupTempDirs);

const FACTS = '# facts\nci: linux\ndb: postgres\ncache: redis\nqueue: rabbit\n';

async function repoWithFacts(): Promise<StateRepo> {
  const repo = await tempRepo();
  await repo.write('knowledge', FACTS);
  return repo;
}

describe('the workflow', () => {
  it('status lists the hand edit and names gitstate commit; diff shows it against HEAD; commit takes it', async () => {
    const repo = await repoWithFacts();
    await writeFile(join(repo.dir, 'knowledge.yaml'), FACTS.replace('redis', 'memcached'));
    await writeFile(join(repo.dir, 'notes.yaml'), 'today: [docs]\n');
    const status = await runMain(['status'], { dir: repo.dir });
    expect(status.stdout).toContain('hand edits: 2 file(s) changed outside gitstate, not committed ("gitstate commit" checks and commits them; "gitstate diff" shows them)\n  modified knowledge.yaml\n  new      notes.yaml');
    const json = JSON.parse((await runMain(['status', '--json'], { dir: repo.dir })).stdout);
    expect(json.handEdits).toEqual([
      { path: 'knowledge.yaml', status: 'modified' },
      { path: 'notes.yaml', status: 'new' },
    ]);
    const diff = await runMain(['diff'], { dir: repo.dir });
    expect(diff.stdout).toContain('--- a/knowledge.yaml\n+++ b/knowledge.yaml');
    expect(diff.stdout).toContain('-cache: redis\n+cache: memcached');
    expect(diff.stdout).toContain('--- /dev/null\n+++ b/notes.yaml');
    const structural = await runMain(['diff', '--structural', '--file', 'knowledge'], { dir: repo.dir });
    expect(structural.stdout).toBe('knowledge.yaml\n  ~ cache: "redis" -> "memcached"\n');
    const before = commitCount(repo.dir);
    const r = await cli(['commit', '-m', 'from the review'], { dir: repo.dir }); // the binary, once
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(headOid(repo.dir));
    expect(commitCount(repo.dir)).toBe(before + 1);
    expect(git(repo.dir, 'log', '-1', '--format=%B')).toMatch(/^commit hand edits to knowledge\.yaml, notes\.yaml\n\nfrom the review\n\n- commit knowledge\.yaml\n- commit notes\.yaml\n\nGitstate-Op: commit\n/);
    expect((await runMain(['diff'], { dir: repo.dir })).stdout).toBe('');
    assertRepoHealthy(repo.dir);
    const nothing = await runMain(['commit'], { dir: repo.dir });
    expect(nothing).toMatchObject({ code: 0, stderr: 'no hand edits to commit; nothing changed\n' });
  });

  it('commit FILE takes only that file', async () => {
    const repo = await repoWithFacts();
    await writeFile(join(repo.dir, 'knowledge.yaml'), `${FACTS}os: linux\n`);
    await writeFile(join(repo.dir, 'shared_context.yaml'), 'x: 1\n');
    expect((await runMain(['commit', 'knowledge'], { dir: repo.dir })).code).toBe(0);
    expect(git(repo.dir, 'status', '--porcelain')).toBe(' M shared_context.yaml\n');
  });

  it('an edit that fails parse, schema or the secret guard: exit 3 naming each file and why, nothing committed', async () => {
    const repo = await repoWithFacts();
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'ci: [\n');
    await writeFile(join(repo.dir, 'current_work.yaml'), 'active_issues: 5\n');
    await writeFile(join(repo.dir, 'shared_context.yaml'), 'db_password: hunter2\n');
    const head = headOid(repo.dir);
    const r = await runMain(['commit'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^gitstate: nothing committed: current_work\.yaml: active_issues: expected array, received number \(schema\); invalid YAML in knowledge\.yaml at line 2[^;]*; shared_context\.yaml: db_password: looks like a secret/);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr.split('\n')).toHaveLength(2);
    const json = JSON.parse((await runMain(['commit', '--json'], { dir: repo.dir })).stderr);
    expect(json.error.details.files.map((f: { code: string }) => f.code)).toEqual(['SCHEMA', 'INVALID_YAML', 'SECRET']);
    expect(headOid(repo.dir)).toBe(head);
  });
});

describe('the truncation guard', () => {
  it.each([
    ['emptied', '', /was emptied on disk \(4 top-level keys at HEAD\)/],
    ['only comments left', '# facts\n', /was emptied on disk/],
    ['3 of 4 keys gone', 'ci: linux\n', /lost 3 of its 4 top-level keys on disk \(db, cache, queue\)/],
    ['a map turned scalar', 'half-writ\n', /lost 4 of its 4 top-level keys/],
  ])('%s: refused', (_name, text, reason) => {
    expect(truncation('knowledge.yaml', Buffer.from(FACTS), Buffer.from(text))).toMatch(reason);
  });

  it.each([
    ['half the keys gone', 'ci: linux\ndb: postgres\n'],
    ['keys renamed but as many', 'a: 1\nb: 2\nc: 3\nd: 4\n'.replace('a: 1\nb: 2\nc: 3\n', 'ci: x\ndb: y\ncache: z\n')],
    ['grown', `${FACTS}os: linux\n`],
    ['does not parse (the parse check speaks)', 'ci: [\n'],
  ])('%s: not a truncation', (_name, text) => {
    expect(truncation('knowledge.yaml', Buffer.from(FACTS), Buffer.from(text))).toBeNull();
  });

  it('lists: more than half the items gone; files that were empty; other files', () => {
    expect(truncation('l.yaml', Buffer.from('- 1\n- 2\n- 3\n'), Buffer.from('- 1\n'))).toMatch(/lost 2 of its 3 list items/);
    expect(truncation('l.yaml', Buffer.from('- 1\n- 2\n'), Buffer.from('- 1\n'))).toBeNull();
    expect(truncation('k.yaml', Buffer.from('# nothing yet\n'), Buffer.from(''))).toBeNull();
    expect(truncation('.gitignore', Buffer.from('a\nb\n'), Buffer.from(''))).toBeNull();
    expect(truncation('s.json', Buffer.from('{"a": 1, "b": 2, "c": 3}'), Buffer.from('{"a": 1}'))).toMatch(/lost 2 of its 3/);
  });

  it('gitstate commit refuses it unless --force', async () => {
    const repo = await repoWithFacts();
    await writeFile(join(repo.dir, 'knowledge.yaml'), '');
    const head = headOid(repo.dir);
    const r = await runMain(['commit'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `gitstate: nothing committed: knowledge.yaml was emptied on disk (4 top-level keys at HEAD): a tool may have been cut off while writing it (--force commits it anyway; "git -C ${repo.dir} checkout HEAD -- knowledge.yaml" restores it)\n`,
    );
    expect(JSON.parse((await runMain(['--json', 'commit'], { dir: repo.dir })).stderr).error.code).toBe('TRUNCATED');
    expect(headOid(repo.dir)).toBe(head);
    expect((await runMain(['commit', '--force'], { dir: repo.dir })).code).toBe(0);
    expect(git(repo.dir, 'show', 'HEAD:knowledge.yaml')).toBe('');
    assertRepoHealthy(repo.dir);
  });

  it('the pre-pass before a write refuses it: nothing written, the file left as it is', async () => {
    const repo = await repoWithFacts();
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'ci: linux\n');
    const head = headOid(repo.dir);
    const r = await runMain(['set', 'knowledge', 'os', 'linux'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^gitstate: knowledge\.yaml lost 3 of its 4 top-level keys on disk \(db, cache, queue\): a tool may have been cut off while writing it; nothing was written\. Restore it with "git -C .* checkout HEAD -- knowledge\.yaml", or keep it as it is with "gitstate commit --force knowledge\.yaml"\n$/);
    expect(headOid(repo.dir)).toBe(head);
    expect(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8')).toBe('ci: linux\n');
    // a sound hand edit is kept first, in its own commit, then the write
    await writeFile(join(repo.dir, 'knowledge.yaml'), `${FACTS}os: mac\n`);
    await repo.set('knowledge', 'arch', 'arm');
    expect(git(repo.dir, 'log', '-2', '--format=%s').trim().split('\n')).toEqual(['set knowledge.yaml arch', 'recover uncommitted changes to knowledge.yaml']);
    assertRepoHealthy(repo.dir);
  });

  it('a file deleted by hand is not started again from nothing by a write: refused, its data still at HEAD', async () => {
    const repo = await repoWithFacts();
    await rm(join(repo.dir, 'knowledge.yaml'));
    const head = headOid(repo.dir);
    const r = await runMain(['set', 'knowledge', 'os', 'linux'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^gitstate: knowledge\.yaml was deleted on disk \(4 top-level keys at HEAD\): a tool may have been cut off while writing it; nothing was written\. Restore it with "git -C .* checkout HEAD -- knowledge\.yaml", or commit the deletion with "gitstate commit knowledge\.yaml"$/m);
    expect(headOid(repo.dir)).toBe(head);
    expect(existsSync(join(repo.dir, 'knowledge.yaml'))).toBe(false);
  });

  it('write with no data (empty stdin, a comment alone) over a file that has some is refused; {} empties it on purpose', async () => {
    const repo = await repoWithFacts();
    const head = headOid(repo.dir);
    for (const input of ['', '\n', '# nothing here\n']) {
      const r = await runMain(['write', 'knowledge'], { dir: repo.dir, input });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^gitstate: the text given for knowledge\.yaml holds no data; it would replace 4 top-level keys; nothing was written\. To empty the file write \{\} \(or \[\]\); to remove it, gitstate delete knowledge\.yaml\n$/);
    }
    expect(headOid(repo.dir)).toBe(head);
    expect((await runMain(['write', 'knowledge'], { dir: repo.dir, input: '{}\n' })).code).toBe(0);
    expect(await repo.get('knowledge')).toEqual({});
    // a new file, or one with no data, takes an empty text
    expect((await runMain(['write', 'notes/blank'], { dir: repo.dir, input: '' })).code).toBe(0);
  });

  it('a deletion by hand is committed by gitstate commit in one commit, which undo takes back', async () => {
    const repo = await repoWithFacts();
    const before = headOid(repo.dir);
    await rm(join(repo.dir, 'knowledge.yaml'));
    expect((await runMain(['commit'], { dir: repo.dir })).code).toBe(0);
    expect(git(repo.dir, 'rev-list', '--count', `${before}..HEAD`).trim()).toBe('1');
    expect(git(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('commit hand edits to knowledge.yaml');
    expect((await runMain(['undo'], { dir: repo.dir })).code).toBe(0);
    expect(git(repo.dir, 'show', 'HEAD:knowledge.yaml')).toBe(git(repo.dir, 'show', `${before}:knowledge.yaml`));
    assertRepoHealthy(repo.dir);
  });
});

describe('sync with hand edits pending', () => {
  it('commits them first, in their own commit, and syncs them; refuses, before fetching, edits that fail their checks', async () => {
    const bare = join(await tempDir(), 'remote.git');
    git(await tempDir(), 'init', '-q', '--bare', '-b', 'main', bare);
    const repo = await repoWithFacts();
    await addRemote(repo, 'origin', bare);
    await sync(repo);
    await writeFile(join(repo.dir, 'knowledge.yaml'), `${FACTS}os: linux\n`);
    const result = await sync(repo);
    expect(result.pushed).toBe(true);
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('commit hand edits to knowledge.yaml before sync\n');
    expect(git(bare, 'show', 'main:knowledge.yaml')).toBe(`${FACTS}os: linux\n`);
    assertRepoHealthy(repo.dir);

    await writeFile(join(repo.dir, 'knowledge.yaml'), '');
    const head = headOid(repo.dir);
    const r = await runMain(['sync'], { dir: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^gitstate: sync stopped before fetching or pushing anything, because of uncommitted hand edits: knowledge\.yaml was emptied on disk/);
    expect(headOid(repo.dir)).toBe(head);
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(head);
  });
});
