import { describe, expect, it } from 'vitest';
import { merge3, MISSING } from '../../src/merge/merge3.js';
import { structuralDiff } from '../../src/merge/diff.js';
import { parseStateText } from '../../src/yaml/document.js';
import { textWithValue } from '../../src/yaml/onto.js';

describe('merge3', () => {
  it('merges maps key by key', () => {
    const base = { a: 1, b: 2, c: 3 };
    const r = merge3(base, { a: 10, b: 2, c: 3 }, { a: 1, b: 20, c: 3, d: 4 });
    expect(r).toEqual({ value: { a: 10, b: 20, c: 3, d: 4 }, conflicts: [] });
  });

  it('a deletion on one side wins over an unchanged other side', () => {
    expect(merge3({ a: 1, b: 2 }, { a: 1 }, { a: 1, b: 2, c: 3 }).value).toEqual({ a: 1, c: 3 });
  });

  it('reports a value changed differently on both sides, with both values', () => {
    const r = merge3({ env: { ns: 'a' } }, { env: { ns: 'b' } }, { env: { ns: 'c' } }, { resolve: () => 'theirs' });
    expect(r.value).toEqual({ env: { ns: 'c' } });
    expect(r.conflicts).toEqual([{ path: 'env.ns', segments: expect.any(Array), base: 'a', ours: 'b', theirs: 'c', resolution: 'theirs' }]);
  });

  it('modify/delete is a conflict', () => {
    const r = merge3({ a: 1 }, { a: 2 }, {});
    expect(r.conflicts).toMatchObject([{ path: 'a', ours: 2, theirs: MISSING }]);
    expect(r.value).toEqual({ a: 2 });
  });

  it('lists of records merge by identity', () => {
    const base = { issues: [{ key: 'A', status: 'Open' }, { key: 'B', status: 'Open' }] };
    const ours = { issues: [{ key: 'A', status: 'Done' }, { key: 'B', status: 'Open' }, { key: 'C', status: 'Open' }] };
    const theirs = { issues: [{ key: 'B', status: 'Open', branch: 'b' }, { key: 'D', status: 'New' }] };
    expect(merge3(base, ours, theirs)).toEqual({
      // A: changed by ours, deleted by theirs -> a conflict, resolved to ours by default.
      value: { issues: [{ key: 'A', status: 'Done' }, { key: 'B', status: 'Open', branch: 'b' }, { key: 'C', status: 'Open' }, { key: 'D', status: 'New' }] },
      conflicts: [{ path: 'issues[key=A]', segments: expect.any(Array), base: base.issues[0], ours: ours.issues[0], theirs: MISSING, resolution: 'ours' }],
    });
  });

  it('plain lists take both sides\' additions in order and drop removals', () => {
    const base = { log: ['a', 'b', 'c'] };
    expect(merge3(base, { log: ['a', 'b', 'c', 'd'] }, { log: ['b', 'c', 'e', 'f'] }).value).toEqual({ log: ['b', 'c', 'd', 'e', 'f'] });
    expect(merge3(base, { log: ['a', 'b', 'c', 'x'] }, { log: ['a', 'b', 'c', 'x'] }).value).toEqual({ log: ['a', 'b', 'c', 'x'] });
  });

  it('plain lists keep positions: an item edited on one side stays where it was beside an append on the other', () => {
    const base = { tags: ['x', 'y'] };
    expect(merge3(base, { tags: ['x', 'y', 'z'] }, { tags: ['xa', 'y'] })).toEqual({ value: { tags: ['xa', 'y', 'z'] }, conflicts: [] });
    expect(merge3(base, { tags: ['xa', 'y'] }, { tags: ['x', 'y', 'z'] })).toEqual({ value: { tags: ['xa', 'y', 'z'] }, conflicts: [] });
    // records without an identity field too
    const records = { items: [{ t: 1, v: 'a' }, { t: 2, v: 'b' }] };
    expect(merge3(records, { items: [{ t: 1, v: 'a' }, { t: 2, v: 'b' }, { t: 3, v: 'c' }] }, { items: [{ t: 1, v: 'A' }, { t: 2, v: 'b' }] }).value).toEqual({ items: [{ t: 1, v: 'A' }, { t: 2, v: 'b' }, { t: 3, v: 'c' }] });
    // inserted in the middle, removed elsewhere
    expect(merge3({ l: [1, 2, 3, 4] }, { l: [1, 2, 9, 3, 4] }, { l: [1, 3, 4, 5] }).value).toEqual({ l: [1, 9, 3, 4, 5] });
  });

  it('an item both sides replaced differently is a conflict at its index, resolved like any; the same item added twice is kept once', () => {
    const base = { tags: ['x', 'y'] };
    const both = merge3(base, { tags: ['xb', 'y'] }, { tags: ['xa', 'y'] });
    expect(both.value).toEqual({ tags: ['xb', 'y'] });
    expect(both.conflicts).toMatchObject([{ path: 'tags[0]', base: 'x', ours: 'xb', theirs: 'xa', resolution: 'ours' }]);
    expect(merge3(base, { tags: ['xb', 'y'] }, { tags: ['xa', 'y'] }, { resolve: () => 'theirs' }).value).toEqual({ tags: ['xa', 'y'] });
    expect(merge3(base, { tags: ['z', 'x', 'y'] }, { tags: ['x', 'y', 'z'] }).value).toEqual({ tags: ['z', 'x', 'y'] });
  });

  it('overlapping changes to a plain list are one conflict over the stretch both changed, named where it now is', () => {
    // an item edited on both sides, one side appending right after it: one stretch, decided whole (the
    // losing side's stretch, append and all, is what the conflict record keeps)
    const edited = merge3({ l: ['a', 'b', 'c'] }, { l: ['a', 'b', 'X'] }, { l: ['a', 'b', 'Y', 'z'] });
    expect(edited.value).toEqual({ l: ['a', 'b', 'X'] });
    expect(edited.conflicts).toMatchObject([{ path: 'l[2]', base: ['c'], ours: ['X'], theirs: ['Y', 'z'] }]);
    expect(merge3({ l: ['a', 'b', 'c'] }, { l: ['a', 'X', 'c'] }, { l: ['a', 'Y', 'c', 'z'] }).value).toEqual({ l: ['a', 'X', 'c', 'z'] });
    // edited on one side, removed on the other: a conflict, not a silent keep
    const removed = merge3({ l: ['x', 'y', 'z'] }, { l: ['x', 'z'] }, { l: ['x', 'yB', 'z'] });
    expect(removed.conflicts).toMatchObject([{ path: 'l[1]', base: 'y', ours: MISSING, theirs: 'yB' }]);
    expect(removed.value).toEqual({ l: ['x', 'z'] });
    expect(merge3({ l: ['x', 'y', 'z'] }, { l: ['x', 'z'] }, { l: ['x', 'yB', 'z'] }, { resolve: () => 'theirs' }).value).toEqual({ l: ['x', 'yB', 'z'] });
    // one side changed one item, the other two around it: the chosen side's stretch
    const wide = merge3({ l: ['a', 'b', 'c', 'd'] }, { l: ['a', 'X', 'c', 'd'] }, { l: ['a', 'Y', 'W', 'd'] }, { resolve: () => 'theirs' });
    expect(wide.value).toEqual({ l: ['a', 'Y', 'W', 'd'] });
    expect(wide.conflicts).toMatchObject([{ path: 'l[1]', base: ['b', 'c'], ours: ['X', 'c'], theirs: ['Y', 'W'] }]);
    // the index is where the stretch sits in the merged list
    const moved = merge3({ l: ['a', 'b', 'c'] }, { l: ['new', 'a', 'X', 'c'] }, { l: ['a', 'Y', 'c'] });
    expect(moved.value).toEqual({ l: ['new', 'a', 'X', 'c'] });
    expect(moved.conflicts[0]!.path).toBe('l[2]');
  });

  it('lists of values of different types that print alike are told apart', () => {
    const date = new Date('2026-01-01T00:00:00.000Z');
    expect(merge3({ l: [date] }, { l: [date] }, { l: ['2026-01-01T00:00:00.000Z'] }).value).toEqual({ l: ['2026-01-01T00:00:00.000Z'] });
    expect(merge3({ l: [1] }, { l: [1] }, { l: ['1'] }).value).toEqual({ l: ['1'] });
  });
});

describe('structuralDiff', () => {
  it('names added, removed and changed values by key path, records by identity', () => {
    const before = { a: 1, issues: [{ key: 'A', status: 'Open' }], tags: ['x'] };
    const after = { a: 2, issues: [{ key: 'A', status: 'Done' }, { key: 'B' }], tags: ['x', 'y'], n: null };
    expect(structuralDiff(before, after).map(({ kind, path, before: b, after: a }) => ({ kind, path, before: b, after: a }))).toEqual([
      { kind: 'changed', path: 'a', before: 1, after: 2 },
      { kind: 'changed', path: 'issues[key=A].status', before: 'Open', after: 'Done' },
      { kind: 'added', path: 'issues[key=B]', before: undefined, after: { key: 'B' } },
      { kind: 'added', path: 'tags[1]', before: undefined, after: 'y' },
      { kind: 'added', path: 'n', before: undefined, after: null },
    ]);
  });
});

describe('applyValue', () => {
  it('reaches the target with minimal edits, keeping comments', () => {
    const text = '# top\nissues:\n  # the list\n  - key: A  # first\n    status: Open\n  - key: B\n    status: Open\nlog: [a, b]\n';
    const out = textWithValue('x.yaml', text, { issues: [{ key: 'A', status: 'Done' }, { key: 'C', status: 'New' }], log: ['a', 'b', 'c'] });
    expect(out).toContain('# top');
    expect(out).toContain('# the list');
    expect(out).toContain('  - key: A  # first\n    status: Done\n');
    expect(out).not.toContain('key: B');
    expect(parseStateText(out, 'x.yaml').value).toEqual({ issues: [{ key: 'A', status: 'Done' }, { key: 'C', status: 'New' }], log: ['a', 'b', 'c'] });
  });
});
