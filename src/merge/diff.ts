/**
 * Structural (key-level) diff of two plain values: what was added, removed or
 * changed, each at its key path. Records in a list are matched by identity
 * (`active_issues[key=AAP-1]`); plain lists are compared by position.
 */
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { equal, identityField, idOf, isPlainObject, type IdentityOptions } from './structure.js';

export interface Change {
  kind: 'added' | 'removed' | 'changed';
  /** Key path, e.g. `active_issues[key=AAP-1].status`. */
  path: string;
  segments: Segment[];
  before?: unknown;
  after?: unknown;
}

export function structuralDiff(before: unknown, after: unknown, options: IdentityOptions = {}): Change[] {
  const changes: Change[] = [];
  walk(before, after, [], changes, options);
  return changes;
}

function walk(a: unknown, b: unknown, segments: Segment[], out: Change[], options: IdentityOptions): void {
  if (equal(a, b)) return;
  const path = formatKeyPath(segments);
  if (a === undefined) return void out.push({ kind: 'added', path, segments, after: b });
  if (b === undefined) return void out.push({ kind: 'removed', path, segments, before: a });
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      walk(a[key], b[key], [...segments, { kind: 'key', name: key }], out, options);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const field = identityField([a, b], path, options);
    if (field) {
      const byId = new Map(a.map((item) => [idOf(item, field), item]));
      const ids = new Set([...a.map((i) => idOf(i, field)), ...b.map((i) => idOf(i, field))]);
      const inB = new Map(b.map((item) => [idOf(item, field), item]));
      for (const id of ids) walk(byId.get(id), inB.get(id), [...segments, { kind: 'select', field, value: id }], out, options);
      return;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], [...segments, { kind: 'index', index: i }], out, options);
    return;
  }
  out.push({ kind: 'changed', path, segments, before: a, after: b });
}
