/**
 * JSONPath over state files (RFC 9535, json-p3 strict): the library, and
 * `gitstate query` with its exit codes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { QueryError, queryValue } from '../../src/query/query.js';
import { cleanupTempDirs, cli, commitCount, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const work = {
  active_issues: [
    { key: 'AAP-1', status: 'Open', repo: 'backend', started: new Date('2026-11-30T09:00:00Z') },
    { key: 'AAP-2', status: 'Done', repo: 'frontend' },
    { key: 'AAP-30', status: 'Open', repo: 'backend', notes: ['a', 'b'] },
  ],
  'odd.key': { 'with space': 1 },
};

describe('queryValue', () => {
  it('selects with the RFC 9535 syntax and functions, in document order, with paths and key paths', () => {
    expect(queryValue(work, '$.active_issues[?@.status == "Open"].key').map((m) => m.value)).toEqual(['AAP-1', 'AAP-30']);
    expect(queryValue(work, '$..key').map((m) => m.value)).toEqual(['AAP-1', 'AAP-2', 'AAP-30']);
    expect(queryValue(work, '$.active_issues[-1].notes[*]').map((m) => m.value)).toEqual(['a', 'b']);
    expect(queryValue(work, '$.active_issues[0:2].key').map((m) => m.value)).toEqual(['AAP-1', 'AAP-2']);
    expect(queryValue(work, '$.active_issues[?match(@.key, "AAP-[0-9]")].key').map((m) => m.value)).toEqual(['AAP-1', 'AAP-2']);
    expect(queryValue(work, '$.active_issues[?search(@.repo, "front")].key').map((m) => m.value)).toEqual(['AAP-2']);
    expect(queryValue(work, '$.active_issues[?length(@.notes) == 2].key').map((m) => m.value)).toEqual(['AAP-30']);
    expect(queryValue(work, '$[?count(@[*]) > 2]').length).toBe(1);
    // Dates the YAML reader made are their ISO text.
    expect(queryValue(work, '$.active_issues[0].started')[0]!.value).toBe('2026-11-30T09:00:00.000Z');
    expect(queryValue(work, "$['odd.key']['with space']")).toEqual([{ path: "$['odd.key']['with space']", key: '["odd.key"]["with space"]', value: 1 }]);
    expect(queryValue(work, '$.active_issues[?@.status=="Done"]')).toEqual([{ path: "$['active_issues'][1]", key: 'active_issues[1]', value: work.active_issues[1] }]);
    expect(queryValue(work, '$')).toEqual([{ path: '$', key: '', value: JSON.parse(JSON.stringify(work)) }]);
    expect(queryValue(work, '$.nothing.here')).toEqual([]);
    expect(queryValue(null, '$.a')).toEqual([]);
  });

  it('a malformed or ill-typed query is a QueryError naming the position; no extension syntax, no script', () => {
    for (const [query, message] of [
      ['$.active_issues[0', /at position \d+: unclosed bracketed selection/],
      ['active_issues', /at position 1: expected '\$', found 'a'/],
      ['$.a[?(@.x', /at position \d+/],
      ['$.a[?@.x =~ /re/]', /at position \d+/], // a regex literal: jsonpath-plus syntax, not RFC 9535
      ['$.a[?@.x === 1]', /at position \d+/],
      ['$.a[(@.length-1)]', /at position \d+/], // script expressions are not JSONPath
      ['$.a[?length(@.*) > 1]', /length\(\) argument|singular|ValueType/i], // well-typedness (RFC 9535 2.4.3)
      ['', /empty/],
    ] as const) {
      let err: unknown;
      try {
        queryValue(work, query);
      } catch (e) {
        err = e;
      }
      expect(err, query).toBeInstanceOf(QueryError);
      expect((err as Error).message, query).toMatch(message);
      expect((err as QueryError).exitCode).toBe(3);
    }
  });
});

describe('gitstate query', () => {
  it('prints JSON; --paths gives key paths; a malformed query is exit 3 with nothing written', async () => {
    const repo = await tempRepo();
    await repo.set('current_work', 'active_issues', [{ key: 'AAP-1', status: 'Open' }, { key: 'AAP-2', status: 'Done' }]);
    const before = commitCount(repo.dir);
    const r = await cli(['query', 'current_work', '$.active_issues[?@.status=="Open"].key'], { dir: repo.dir });
    expect(r).toMatchObject({ code: 0, stdout: '[\n  "AAP-1"\n]\n' });
    const paths = await cli(['query', 'current_work', '$..status', '--paths', '--json'], { dir: repo.dir });
    expect(JSON.parse(paths.stdout)).toEqual([
      { path: "$['active_issues'][0]['status']", key: 'active_issues[0].status', value: 'Open' },
      { path: "$['active_issues'][1]['status']", key: 'active_issues[1].status', value: 'Done' },
    ]);
    const bad = await cli(['query', 'current_work', '$.active_issues[?@.status=='], { dir: repo.dir });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^gitstate: invalid JSONPath "\$\.active_issues\[\?@\.status==" at position \d+: .+\n$/);
    const json = await cli(['query', 'current_work', '$[', '--json'], { dir: repo.dir });
    expect(JSON.parse(json.stderr).error.code).toBe('INVALID_QUERY');
    expect((await cli(['query', 'nope', '$'], { dir: repo.dir })).code).toBe(3);
    expect(commitCount(repo.dir)).toBe(before);
  });
});
