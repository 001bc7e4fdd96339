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

/** What one side did to a plain list: base items [start, end) replaced by `items` (start = end: an insertion). */
interface Hunk {
  start: number;
  end: number;
  items: unknown[];
}

/** A value as a string equal for values `equal` says are equal (types kept apart): lists diff by these, fast. */
function canon(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return `date:${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`;
  if (Array.isArray(value)) return `[${value.map(canon).join(',')}]`;
  if (typeof value === 'object') {
    const map = value as Record<string, unknown>;
    return `{${Object.keys(map).sort().map((k) => `${JSON.stringify(k)}:${canon(map[k])}`).join(',')}}`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return `${typeof value}:${String(value)}`;
}

function hunksOf(baseKeys: string[], side: unknown[]): Hunk[] {
  const out: Hunk[] = [];
  let b = 0;
  let s = 0;
  let open: Hunk | null = null;
  for (const part of diffArrays(baseKeys, side.map(canon))) {
    if (!part.added && !part.removed) {
      open = null;
      b += part.count;
      s += part.count;
      continue;
    }
    if (!open) out.push((open = { start: b, end: b, items: [] }));
    if (part.removed) open.end = b += part.count;
    else {
      open.items.push(...side.slice(s, s + part.count));
      s += part.count;
    }
  }
  return out;
}

/** base[start, end) with a side's hunks in that range applied. */
function versionOf(base: unknown[], start: number, end: number, hunks: readonly Hunk[]): unknown[] {
  const out: unknown[] = [];
  let at = start;
  for (const h of hunks) {
    out.push(...base.slice(at, h.start), ...h.items);
    at = h.end;
  }
  out.push(...base.slice(at, end));
  return out;
}

/**
 * Plain lists, by position, as diff3 merges lines: each side's changes are
 * runs of base items replaced by others (an insertion replaces none). Runs
 * that do not meet go in as they are; where runs of both sides meet (the
 * same items, or one inside the other's), equal results go in once, two
 * insertions at one place go in both (ours first), and anything else (an
 * item edited on both sides, edited on one and removed on the other) is a
 * conflict, resolved like any: the chosen side's version of that stretch.
 * An item both sides added, wherever each put it, is kept once.
 */
function mergeSequences(base: unknown[], ours: unknown[], theirs: unknown[], segments: Segment[], conflicts: Conflict[], options: MergeOptions): unknown[] {
  const baseKeys = base.map(canon);
  const o = hunksOf(baseKeys, ours);
  const t = hunksOf(baseKeys, theirs);
  const oursAdded = o.flatMap((h) => h.items.map(canon));
  const notAddedByOurs = (item: unknown) => {
    const at = oursAdded.indexOf(canon(item));
    if (at >= 0) oursAdded.splice(at, 1);
    return at < 0;
  };
  const result: unknown[] = [];
  let pos = 0;
  // each side's runs in base order, and how far through them the merge is: [ours, theirs]
  const runs = [o, t] as const;
  const next = [0, 0];
  while (next[0]! < o.length || next[1]! < t.length) {
    // the next stretch: the earliest run, and every run of either side that meets it
    const first = next[1]! >= t.length || (next[0]! < o.length && o[next[0]!]!.start <= t[next[1]!]!.start) ? o[next[0]!]! : t[next[1]!]!;
    let [start, end] = [first.start, first.end];
    const meets = (h: Hunk) => h.start < end || h.start === start || (h.start === end && end === start);
    const taken: [Hunk[], Hunk[]] = [[], []];
    for (let grew = true; grew; ) {
      grew = false;
      for (const side of [0, 1] as const) {
        for (let h = runs[side][next[side]!]; h !== undefined && meets(h); h = runs[side][++next[side]!]) {
          taken[side].push(h);
          end = Math.max(end, h.end);
          grew = true;
        }
      }
    }
    const [mine, yours] = taken;
    result.push(...base.slice(pos, start));
    pos = end;
    const oursVersion = versionOf(base, start, end, mine);
    const theirsVersion = versionOf(base, start, end, yours);
    if (yours.length === 0) result.push(...oursVersion);
    else if (mine.length === 0) result.push(...(start === end ? theirsVersion.filter(notAddedByOurs) : theirsVersion));
    else if (canon(oursVersion) === canon(theirsVersion)) result.push(...oursVersion);
    else if (start === end) result.push(...oursVersion, ...theirsVersion.filter(notAddedByOurs));
    else {
      const at: Segment[] = [...segments, { kind: 'index', index: result.length }];
      const one = end - start === 1 && oursVersion.length <= 1 && theirsVersion.length <= 1;
      const pick = (v: unknown[]): Side => (one ? (v.length === 1 ? v[0] : MISSING) : v);
      const conflict = { path: formatKeyPath(at), segments: at, base: one ? base[start] : base.slice(start, end), ours: pick(oursVersion), theirs: pick(theirsVersion) };
      const resolution = options.resolve?.(conflict) ?? 'ours';
      conflicts.push({ ...conflict, resolution });
      result.push(...(resolution === 'ours' ? oursVersion : theirsVersion));
    }
  }
  result.push(...base.slice(pos));
  return result;
}

function side(map: Record<string, unknown>, key: string): Side {
  return Object.hasOwn(map, key) ? map[key] : MISSING;
}
