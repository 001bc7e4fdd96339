/**
 * Three-way structural merge of plain values (YAML and JSON content).
 *
 * Maps merge key by key; lists of records merge by identity (`key`, `name`,
 * `id`); plain lists take both sides' additions, in order, and drop what either
 * side removed; a deletion on one side wins over an unchanged other side. The
 * same value changed differently on both sides — or changed on one side and
 * deleted on the other — is a conflict: `resolve` picks a side, and the merge
 * reports it with both values so the losing one is never dropped silently.
 */
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { equal, identityField, idOf, isPlainObject, type IdentityOptions } from './structure.js';

/** A value absent on one side (a deleted key, a removed record). */
export const MISSING: unique symbol = Symbol('missing');
export type Side<T = unknown> = T | typeof MISSING;

export interface Conflict {
  path: string;
  segments: Segment[];
  base: Side;
  ours: Side;
  theirs: Side;
  /** The side the result took. */
  resolution: 'ours' | 'theirs';
}

export interface MergeOptions extends IdentityOptions {
  /** Which side wins a conflict (default: ours). */
  resolve?: (conflict: Omit<Conflict, 'resolution'>) => 'ours' | 'theirs';
}

export interface MergeResult {
  value: Side;
  conflicts: Conflict[];
}

export function merge3(base: Side, ours: Side, theirs: Side, options: MergeOptions = {}): MergeResult {
  const conflicts: Conflict[] = [];
  const value = mergeValue(base, ours, theirs, [], conflicts, options);
  return { value, conflicts };
}

function mergeValue(base: Side, ours: Side, theirs: Side, segments: Segment[], conflicts: Conflict[], options: MergeOptions): Side {
  if (equal(ours, theirs)) return ours;
  if (equal(base, ours)) return theirs;
  if (equal(base, theirs)) return ours;
  if (isPlainObject(ours) && isPlainObject(theirs)) {
    return mergeMaps(isPlainObject(base) ? base : {}, ours, theirs, segments, conflicts, options);
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    const baseList = Array.isArray(base) ? base : [];
    const field = identityField([baseList, ours, theirs], formatKeyPath(segments), options);
    return field
      ? mergeRecords(baseList, ours, theirs, field, segments, conflicts, options)
      : mergeSequences(baseList, ours, theirs);
  }
  const conflict = { path: formatKeyPath(segments) || '(top level)', segments, base, ours, theirs };
  const resolution = options.resolve?.(conflict) ?? 'ours';
  conflicts.push({ ...conflict, resolution });
  return resolution === 'ours' ? ours : theirs;
}

function mergeMaps(base: Record<string, unknown>, ours: Record<string, unknown>, theirs: Record<string, unknown>, segments: Segment[], conflicts: Conflict[], options: MergeOptions): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const keys = [...Object.keys(ours), ...Object.keys(theirs).filter((k) => !(k in ours)), ...Object.keys(base).filter((k) => !(k in ours) && !(k in theirs))];
  for (const key of keys) {
    const merged = mergeValue(side(base, key), side(ours, key), side(theirs, key), [...segments, { kind: 'key', name: key }], conflicts, options);
    if (merged !== MISSING) result[key] = merged;
  }
  return result;
}

function mergeRecords(base: unknown[], ours: unknown[], theirs: unknown[], field: string, segments: Segment[], conflicts: Conflict[], options: MergeOptions): unknown[] {
  const index = (list: unknown[]) => new Map(list.map((item) => [idOf(item, field), item]));
  const [b, o, t] = [index(base), index(ours), index(theirs)];
  // Ours in its order, then records only theirs has, in theirs' order.
  const ids = [...o.keys(), ...[...t.keys()].filter((id) => !o.has(id)), ...[...b.keys()].filter((id) => !o.has(id) && !t.has(id))];
  const result: unknown[] = [];
  for (const id of ids) {
    const merged = mergeValue(b.has(id) ? b.get(id) : MISSING, o.has(id) ? o.get(id) : MISSING, t.has(id) ? t.get(id) : MISSING, [...segments, { kind: 'select', field, value: id }], conflicts, options);
    if (merged !== MISSING) result.push(merged);
  }
  return result;
}

/** Plain lists: keep ours, drop what theirs removed from base, append what theirs added. */
function mergeSequences(base: unknown[], ours: unknown[], theirs: unknown[]): unknown[] {
  const removedByTheirs = multisetMinus(base, theirs);
  const addedByTheirs = multisetMinus(theirs, base);
  const result = [...ours];
  for (const item of removedByTheirs) {
    const at = result.findIndex((x) => equal(x, item));
    if (at >= 0) result.splice(at, 1);
  }
  // An addition both sides made (the same item) is kept once.
  const addedByOurs = multisetMinus(ours, base);
  for (const item of addedByTheirs) {
    const at = addedByOurs.findIndex((x) => equal(x, item));
    if (at >= 0) addedByOurs.splice(at, 1);
    else result.push(item);
  }
  return result;
}

/** Items of `a` not matched one-for-one in `b`, in `a`'s order. */
function multisetMinus(a: unknown[], b: unknown[]): unknown[] {
  const rest = [...b];
  return a.filter((item) => {
    const at = rest.findIndex((x) => equal(x, item));
    if (at < 0) return true;
    rest.splice(at, 1);
    return false;
  });
}

function side(map: Record<string, unknown>, key: string): Side {
  return Object.hasOwn(map, key) ? map[key] : MISSING;
}
