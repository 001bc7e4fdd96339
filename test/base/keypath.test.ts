import { describe, expect, it } from 'vitest';
import { formatKeyPath, parseKeyPath } from '../../src/base/keypath.js';
import { KeyPathError } from '../../src/errors.js';

describe('parseKeyPath', () => {
  it.each([
    ['a', [{ kind: 'key', name: 'a' }]],
    ['a.b', [{ kind: 'key', name: 'a' }, { kind: 'key', name: 'b' }]],
    ['list[0]', [{ kind: 'key', name: 'list' }, { kind: 'index', index: 0 }]],
    ['list.0', [{ kind: 'key', name: 'list' }, { kind: 'key', name: '0' }]],
    ['list[-1].x', [{ kind: 'key', name: 'list' }, { kind: 'index', index: -1 }, { kind: 'key', name: 'x' }]],
    [
      'active_issues[key=AAP-12345].status',
      [{ kind: 'key', name: 'active_issues' }, { kind: 'select', field: 'key', value: 'AAP-12345' }, { kind: 'key', name: 'status' }],
    ],
    ['a[name="x.y]z"]', [{ kind: 'key', name: 'a' }, { kind: 'select', field: 'name', value: 'x.y]z' }]],
    ['["dotted.key"].b', [{ kind: 'key', name: 'dotted.key' }, { kind: 'key', name: 'b' }]],
    ["a['it''s']", [{ kind: 'key', name: 'a' }, { kind: 'key', name: "it's" }]],
    ['m[0][1]', [{ kind: 'key', name: 'm' }, { kind: 'index', index: 0 }, { kind: 'index', index: 1 }]],
  ])('parses %s', (input, expected) => {
    expect(parseKeyPath(input)).toEqual(expected);
  });

  it.each(['', 'a..b', 'a.', '.a', 'a[', 'a[]', 'a[x]', 'a]b', 'a b', 'a[=x]', 'a[k=]', 'a\0b', 'x'.repeat(2000)])(
    'rejects %j with a KeyPathError',
    (input) => {
      expect(() => parseKeyPath(input)).toThrow(KeyPathError);
    },
  );

  it('names the position of the problem', () => {
    expect(() => parseKeyPath('a..b')).toThrow(/position 3/);
  });

  it('formats back to a canonical spelling', () => {
    expect(formatKeyPath(parseKeyPath('active_issues.0.status'))).toBe('active_issues.0.status');
    expect(formatKeyPath(parseKeyPath('a[key=X].b[2]'))).toBe('a[key=X].b[2]');
    expect(formatKeyPath(parseKeyPath('["a.b"]'))).toBe('["a.b"]');
  });
});
