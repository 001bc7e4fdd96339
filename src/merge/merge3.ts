/**
 * Three-way structural merge of plain values (YAML and JSON content).
 *
 * Maps merge key by key; lists of records merge by identity (`key`, `name`,
 * `id`); plain lists by position: both sides' insertions where each made them,
 * without what either side removed; a deletion on one side wins over an
 * unchanged other side. The
 * same value changed differently on both sides — or changed on one side and
 * deleted on the other — is a conflict: `resolve` picks a side, and the merge
 * reports it with both values so the losing one is never dropped silently.
 */
import { diffArrays } from 'diff';
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
      : mergeSequences(baseList, ours, theirs, segments, conflicts, options);
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

/** What one side did to a plain list: which base items it kept, and what it inserted at each gap (before base item i; n: at the end). */
interface ListEdits {
  kept: boolean[];
  inserts: unknown[][];
}

function listEdits(base: unknown[], side: unknown[]): ListEdits {
  const kept = base.map(() => true);
  const inserts: unknown[][] = Array.from({ length: base.length + 1 }, () => []);
  let at = 0;
  for (const part of diffArrays(base, side, { comparator: equal })) {
    if (part.removed) for (let k = 0; k < part.count; k++) kept[at++] = false;
    else if (part.added) inserts[at]!.push(...part.value);
    else at += part.count;
  }
  return { kept, inserts };
}

/**
 * Plain lists, by position: a base item stays when neither side removed it;
 * each side's insertions go where that side put them (ours first at a shared
 * place, an insertion both made kept once). An item both sides replaced with
 * different ones (`tags[0]` edited on each) is a conflict, resolved like any.
 */
function mergeSequences(base: unknown[], ours: unknown[], theirs: unknown[], segments: Segment[], conflicts: Conflict[], options: MergeOptions): unknown[] {
  const o = listEdits(base, ours);
  const t = listEdits(base, theirs);
  // an item both sides added is kept once, wherever each put it (ours' place)
  const oursAdded = o.inserts.flat();
  const alsoOurs = (item: unknown) => {
    const at = oursAdded.findIndex((x) => equal(x, item));
    if (at >= 0) oursAdded.splice(at, 1);
    return at >= 0;
  };
  const result: unknown[] = [];
  for (let gap = 0; gap <= base.length; gap++) {
    const [mine, yours] = [o.inserts[gap]!, t.inserts[gap]!];
    const replaced = gap > 0 && !o.kept[gap - 1] && !t.kept[gap - 1] && mine.length === 1 && yours.length === 1 && !equal(mine[0], yours[0]);
    if (replaced) {
      const at: Segment[] = [...segments, { kind: 'index', index: gap - 1 }];
      const conflict = { path: formatKeyPath(at), segments: at, base: base[gap - 1], ours: mine[0], theirs: yours[0] };
      const resolution = options.resolve?.(conflict) ?? 'ours';
      conflicts.push({ ...conflict, resolution });
      alsoOurs(mine[0]);
      result.push(resolution === 'ours' ? mine[0] : yours[0]);
    } else result.push(...mine, ...yours.filter((item) => !alsoOurs(item)));
    if (gap < base.length && o.kept[gap] && t.kept[gap]) result.push(base[gap]);
  }
  return result;
}

function side(map: Record<string, unknown>, key: string): Side {
  return Object.hasOwn(map, key) ? map[key] : MISSING;
}
