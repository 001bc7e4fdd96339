/**
 * The fidelity contract on the write paths, through the real CLI and library:
 * the failures verbatim, one-line diffs in commits, JSON layouts kept,
 * keyed lists kept addressable, merges and reverts verified, and the re-parse
 * net refusing (exit 1, nothing written) bytes that do not read back as meant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { History } from '../../src/history/history.js';
import { RoundTripError, verifyRoundTrip } from '../../src/yaml/verify.js';
import { assertRepoHealthy, cleanupTempDirs, cli, commitCount, git, tempRepo } from '../helpers/repo.js';
import { PyYaml, sameData } from '../helpers/pyyaml.js';

afterAll(cleanupTempDirs);
const py = new PyYaml();
afterAll(() => py.close());

const PYYAML_CURRENT_WORK = readFileSync(join(import.meta.dirname, '../fixtures/pyyaml/current_work.yaml'), 'utf8');

describe("the issue's failures, verbatim", () => {
  it('append to a PyYAML list of records: exit 0 and the file still validates', async () => {
    const dir = (await tempRepo()).dir;
    expect((await cli(['write', 'current_work'], { dir, input: 'follow_ups:\n- task: a\n  priority: low\nnotes: x\n' })).code).toBe(0);
    const append = await cli(['append', 'current_work', 'follow_ups', '{task: b}'], { dir });
    expect(append.code, append.stderr).toBe(0);
    const validate = await cli(['validate', 'current_work'], { dir });
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    expect(readFileSync(join(dir, 'current_work.yaml'), 'utf8')).toBe('follow_ups:\n- task: a\n  priority: low\n- task: b\nnotes: x\n');
    expect(await py.load(readFileSync(join(dir, 'current_work.yaml'), 'utf8'))).toEqual({ follow_ups: [{ task: 'a', priority: 'low' }, { task: 'b' }], notes: 'x' });
    assertRepoHealthy(dir);
  });

  it('append a string to a PyYAML list: three items, not "two - three"', async () => {
    const dir = (await tempRepo()).dir;
    expect((await cli(['write', 'notes/t'], { dir, input: 'tags:\n- one\n- two\nx: 1\n' })).code).toBe(0);
    expect((await cli(['append', 'notes/t', 'tags', 'three'], { dir })).code).toBe(0);
    const get = await cli(['get', 'notes/t', 'tags', '--json'], { dir });
    expect(JSON.parse(get.stdout)).toEqual(['one', 'two', 'three']);
    assertRepoHealthy(dir);
  });

  it('a one-value edit inside a PyYAML list is a one-line commit diff', async () => {
    const dir = (await tempRepo()).dir;
    await cli(['write', 'current_work'], { dir, input: PYYAML_CURRENT_WORK });
    const set = await cli(['set', 'current_work', 'open_mrs[0].status', 'merged'], { dir });
    expect(set.code, set.stderr).toBe(0);
    expect(git(dir, 'show', '--numstat', '--format=', 'HEAD').trim()).toBe('1\t1\tcurrent_work.yaml');
    expect(git(dir, 'show', '--format=', '-U0', 'HEAD')).toMatch(/^-  status: open\n\+  status: merged$/m);
  });

  it('values PyYAML would retype are written quoted, so it reads strings', async () => {
    const dir = (await tempRepo()).dir;
    for (const [key, value] of [['time', '20:38:05'], ['flag', 'on'], ['ok', 'yes'], ['day', '2026-12-02'], ['mode', '0777']]) {
      expect((await cli(['set', 'notes/types', key!, value!, '--string'], { dir })).code).toBe(0);
    }
    const text = readFileSync(join(dir, 'notes/types.yaml'), 'utf8');
    expect(await py.load(text)).toEqual({ time: '20:38:05', flag: 'on', ok: 'yes', day: '2026-12-02', mode: '0777' });
  });

  it("PyYAML's indent=4 layout: an appended record, or list, is laid out as PyYAML lays out the others", async () => {
    const repo = await tempRepo();
    const options = { default_flow_style: false, indent: 4, sort_keys: false };
    const data = { items: [{ key: 'A', status: 'open', tags: ['x', 'y'] }, 's', ['n1', 'n2']], meta: { owner: 'me' } };
    await repo.write('notes/indent4', await py.dump(data, options));
    await repo.append('notes/indent4', 'items', { key: 'B', status: 'done', tags: ['z'] });
    await repo.append('notes/indent4', 'items', 'plain');
    await repo.append('notes/indent4', 'items', ['m1', 'm2']);
    const expected = { ...data, items: [...data.items, { key: 'B', status: 'done', tags: ['z'] }, 'plain', ['m1', 'm2']] };
    expect(readFileSync(join(repo.dir, 'notes/indent4.yaml'), 'utf8')).toBe(await py.dump(expected, options));
  });

  it('a file with a byte order mark keeps it through set, append and delete', async () => {
    const repo = await tempRepo();
    const bom = readFileSync(join(import.meta.dirname, '../fixtures/hand/bom.yaml'));
    expect([...bom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    await repo.write('notes/bom', bom.toString('utf8'));
    await repo.set('notes/bom', 'name', 'x');
    await repo.append('notes/bom', 'items', 'three');
    await repo.delete('notes/bom', 'name');
    const after = readFileSync(join(repo.dir, 'notes/bom.yaml'));
    expect([...after.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(git(repo.dir, 'show', 'HEAD:notes/bom.yaml')).toBe(after.toString('utf8'));
    expect(await py.load(after.toString('utf8'))).toEqual({ ...(await py.load(bom.toString('utf8'))), name: undefined, items: [...((await py.load(bom.toString('utf8'))) as { items: string[] }).items, 'three'] });
  });

  it('JSON files keep their formatting on the first set', async () => {
    const dir = (await tempRepo()).dir;
    const text = '{\n    "b": {\n        "x": 1\n    },\n    "a": [1, 2]\n}\n';
    await cli(['write', 'notes/settings.json'], { dir, input: text });
    expect((await cli(['set', 'notes/settings.json', 'b.y', 'two'], { dir })).code).toBe(0);
    expect(readFileSync(join(dir, 'notes/settings.json'), 'utf8')).toBe('{\n    "b": {\n        "x": 1,\n        "y": "two"\n    },\n    "a": [1, 2]\n}\n');
  });
});

describe('keyed lists stay addressable', () => {
  it('an append whose key is already in the list is refused (exit 3) with a hint, nothing committed', async () => {
    const dir = (await tempRepo()).dir;
    await cli(['write', 'current_work'], { dir, input: 'active_issues:\n- key: AAP-1\n  status: Open\n' });
    const before = commitCount(dir);
    const dup = await cli(['append', 'current_work', 'active_issues', '{key: AAP-1, status: Done}'], { dir });
    expect(dup.code).toBe(3);
    expect(dup.stderr).toMatch(/key=AAP-1.*gitstate set current_work\.yaml 'active_issues\[key=AAP-1\]\.FIELD' VALUE/);
    expect(commitCount(dir)).toBe(before);
    assertRepoHealthy(dir);
  });

  it('the identity configured for a list in .gitstate/sync.yaml is the one checked', async () => {
    const repo = await tempRepo();
    await repo.commitFiles([{ path: '.gitstate/sync.yaml', content: Buffer.from('identity:\n  current_work.yaml:\n    open_mrs: url\n') }], { op: 'write', subject: 'settings' });
    await repo.write('current_work', 'open_mrs:\n- id: 1\n  url: https://x/1\n');
    await expect(repo.append('current_work', 'open_mrs', { id: 2, url: 'https://x/1' })).rejects.toThrow(/url=https:\/\/x\/1/);
    await expect(repo.append('current_work', 'open_mrs', { id: 1, url: 'https://x/2' })).resolves.toMatchObject({ changed: true });
  });
});

describe('the re-parse net', () => {
  it('verifyRoundTrip refuses bytes that read back differently, naming the file (exit 1)', () => {
    expect(verifyRoundTrip('a.yaml', Buffer.from('x: 1\n'), { x: 1 })).toEqual({ x: 1 });
    // Types count: gitstate reads YAML 1.2, where a bare 20:38:05 is a string, not PyYAML's 74285.
    expect(() => verifyRoundTrip('a.yaml', Buffer.from('time: 20:38:05\n'), { time: 74285 })).toThrow(RoundTripError);
    const err = (() => {
      try {
        verifyRoundTrip('notes/a.yaml', Buffer.from('time: "1"\n'), { time: 1 });
      } catch (e) {
        return e as RoundTripError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(RoundTripError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('internal error: the new content of notes/a.yaml does not read back as the data meant (first difference at time); nothing was written');
    expect(() => verifyRoundTrip('a.yaml', Buffer.from('a: [\n'), {})).toThrow(/does not read back \(invalid YAML/);
    expect(() => verifyRoundTrip('s.json', Buffer.from('{"a": 1, "a": 2}'), { a: 2 })).toThrow(RoundTripError);
  });

  it('a transaction whose bytes would not read back commits nothing and leaves the file alone', async () => {
    const repo = await tempRepo();
    await repo.write('notes/n', 'a: 1\n');
    const before = commitCount(repo.dir);
    const attempt = repo.transaction(async (tx) => {
      await tx.set('notes/n', 'a', 2);
      // Make the intended data disagree with the text, as an editor bug would.
      const files = (tx as unknown as { files: Map<string, { state: { value: unknown } }> }).files;
      files.get('notes/n.yaml')!.state.value = { a: 3 };
    });
    await expect(attempt).rejects.toThrow(RoundTripError);
    await expect(attempt).rejects.toThrow(/notes\/n\.yaml does not read back as the data meant \(first difference at a\)/);
    expect(commitCount(repo.dir)).toBe(before);
    expect(readFileSync(join(repo.dir, 'notes/n.yaml'), 'utf8')).toBe('a: 1\n');
    assertRepoHealthy(repo.dir);
  });
});

describe('other write paths keep the layout', () => {
  it('revert and rollback on a PyYAML file keep its layout and PyYAML agrees', async () => {
    const repo = await tempRepo();
    await repo.write('current_work', PYYAML_CURRENT_WORK);
    const first = await repo.set('current_work', 'open_mrs[0].status', 'merged');
    await repo.append('current_work', 'follow_ups', { task: 'new', priority: 'low', due: '14:30' });
    const history = new History(repo);
    await history.revert(first.commit);
    const text = readFileSync(join(repo.dir, 'current_work.yaml'), 'utf8');
    expect(text).toBe(PYYAML_CURRENT_WORK.replace("  task: review 1290\n", "  task: review 1290\n- task: new\n  priority: low\n  due: '14:30'\n"));
    const value = await repo.get('current_work');
    expect(sameData(await py.load(text), value)).toBe(true);
    await history.rollback('current_work', first.commit);
    expect(readFileSync(join(repo.dir, 'current_work.yaml'), 'utf8')).toBe(PYYAML_CURRENT_WORK.replace('  status: open\n', '  status: merged\n'));
    assertRepoHealthy(repo.dir);
  });

  it('merge, batch and delete keep every other line', async () => {
    const repo = await tempRepo();
    await repo.write('environments', "environments:\n  dev:\n    deployed_apps:\n    - image: api:1\n      name: api\n    namespace: dev-ns\nlast_updated: 2026-01-21 15:54:19\n");
    await repo.merge('environments', 'environments.dev', { namespace: 'dev-2', last_deploy: '2026-01-22T10:00:00' });
    await repo.transaction(async (tx) => {
      await tx.append('environments', 'environments.dev.deployed_apps', { name: 'ui', image: 'ui:2' });
      await tx.delete('environments', 'environments.dev.deployed_apps[name=api]');
    });
    expect(readFileSync(join(repo.dir, 'environments.yaml'), 'utf8')).toBe(
      "environments:\n  dev:\n    deployed_apps:\n    - name: ui\n      image: ui:2\n    namespace: dev-2\n    last_deploy: \"2026-01-22T10:00:00\"\nlast_updated: 2026-01-21 15:54:19\n",
    );
  });

  it('StateRepo.open on a repo written by PyYAML tools edits in place', async () => {
    const repo = await tempRepo();
    await repo.write('sessions/2026-01-21', "date: '2026-01-21'\nentries:\n- action: session_start\n  details: ''\n  time: 20:38:05\n");
    const reopened = await StateRepo.open(repo.dir);
    await reopened.append('sessions/2026-01-21', 'entries', { time: '14:22:10', action: 'note', details: 'yes' });
    const text = readFileSync(join(repo.dir, 'sessions/2026-01-21.yaml'), 'utf8');
    expect(text.endsWith("  time: 20:38:05\n- time: '14:22:10'\n  action: note\n  details: 'yes'\n")).toBe(true);
    const pyValue = (await py.load(text)) as { entries: Array<Record<string, unknown>> };
    // The untouched bare 20:38:05 is PyYAML's integer before and after; the new entry is what gitstate meant.
    expect(pyValue.entries).toEqual([{ action: 'session_start', details: '', time: 74285 }, { time: '14:22:10', action: 'note', details: 'yes' }]);
  });
});
