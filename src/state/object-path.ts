/**
 * Key paths on plain JS data (state.json lives in memory as plain objects, not
 * as a yaml Document): get, set (creating missing maps) and delete.
 *
 * Every key is an own property, `__proto__`, `constructor` and `prototype`
 * included: keys are defined, never assigned (assigning `__proto__` would
 * replace the object's prototype and the value would vanish from JSON), and
 * only own properties are read. JSON.parse makes own `__proto__` keys too, so
 * such a key round-trips through state.json as any other.
 */
import { KeyPathError, NotFoundError, OperationError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { checkFiniteNumbers } from '../security/values.js';

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === 'object' && !(value instanceof Date);
}

/** The property name or index a segment names in `node`, or undefined when it names nothing there. */
function step(node: Container, segment: Segment, where: () => string): string | number | undefined {
  if (Array.isArray(node)) {
    if (segment.kind === 'select') {
      const matches = node.flatMap((item, i) =>
        isContainer(item) && !Array.isArray(item) && String(item[segment.field]) === segment.value ? [i] : [],
      );
      if (matches.length > 1) throw new KeyPathError(`${matches.length} items in ${where()} have ${segment.field}=${segment.value}; a selector must match exactly one`);
      return matches[0];
    }
    const raw = segment.kind === 'index' ? segment.index : /^-?\d+$/.test(segment.name) ? Number(segment.name) : NaN;
    if (Number.isNaN(raw)) throw new KeyPathError(`${where()} is a list; "${formatKeyPath([segment])}" is not an index`);
    const index = raw < 0 ? node.length + raw : raw;
    return index >= 0 && index < node.length ? index : undefined;
  }
  if (segment.kind !== 'key') throw new KeyPathError(`${where()} is a map; ${segment.kind === 'index' ? 'an index' : 'a selector'} needs a list`);
  return Object.hasOwn(node, segment.name) ? segment.name : undefined;
}

export function getAt(root: unknown, segments: readonly Segment[]): unknown {
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    if (!isContainer(node)) return undefined;
    const key = step(node, segments[i]!, () => formatKeyPath(segments.slice(0, i)) || '(top level)');
    if (key === undefined) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** An own, enumerable, writable property, whatever its name. */
function define(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Set `value` at the path in `root` (mutating it), creating missing maps. Refuses values JSON cannot hold. */
export function setAt(root: Record<string, unknown>, segments: readonly Segment[], value: unknown): void {
  if (segments.length === 0) throw new OperationError('a key path is needed');
  checkJsonValue(value, formatKeyPath(segments));
  let node: Container = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    let key = step(node, segment, () => formatKeyPath(segments.slice(0, i)) || '(top level)');
    if (key === undefined) {
      if (segment.kind !== 'key' || Array.isArray(node)) throw new NotFoundError(`no value at ${formatKeyPath(segments.slice(0, i + 1))}`);
      key = segment.name;
      define(node as Record<string, unknown>, key, {});
    }
    const next = (node as Record<string | number, unknown>)[key];
    if (!isContainer(next)) {
      if (next !== undefined && next !== null) {
        throw new OperationError(`${formatKeyPath(segments.slice(0, i + 1))} is a ${typeof next}, not a map or list`);
      }
      if (Array.isArray(node)) node[key as number] = {};
      else define(node, key as string, {});
    }
    node = (node as Record<string | number, unknown>)[key] as Container;
  }
  const last = segments[segments.length - 1]!;
  const where = () => formatKeyPath(segments.slice(0, -1)) || '(top level)';
  if (Array.isArray(node)) {
    const index = step(node, last, where);
    if (index === undefined) throw new NotFoundError(`no item at ${formatKeyPath(segments)}`);
    node[index as number] = value;
  } else {
    if (last.kind !== 'key') throw new KeyPathError(`${where()} is a map; ${last.kind === 'index' ? 'an index' : 'a selector'} needs a list`);
    define(node, last.name, value);
  }
}

/** What JSON.stringify would drop or change: non-finite numbers, BigInt, functions, symbols. */
function checkJsonValue(value: unknown, where: string): void {
  checkFiniteNumbers(value, `value for ${where}`);
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'function' || typeof v === 'symbol') throw new OperationError(`value for ${where} holds a ${typeof v}, which JSON cannot store`);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
}

/** Delete the value at the path; returns false when there was nothing there. */
export function deleteAt(root: unknown, segments: readonly Segment[]): boolean {
  if (segments.length === 0) return false;
  const parent = getAt(root, segments.slice(0, -1));
  if (!isContainer(parent)) return false;
  const key = step(parent, segments[segments.length - 1]!, () => formatKeyPath(segments.slice(0, -1)) || '(top level)');
  if (key === undefined) return false;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key as string];
  return true;
}

/** A change to plain data at a key path: a value set, or the value there removed. */
export interface DataChange {
  segments: Segment[];
  value: unknown;
  deleted: boolean;
}

/**
 * Make `change` on `target`. When it no longer fits there (it sets `misc.a`
 * and `misc` is now a string, or a list it indexes got shorter), the writer's
 * whole value of that top-level key, `mine(top)`, is taken instead (undefined:
 * the key goes), so a merge of key-by-key changes never fails on one of them.
 * Without `mine`, such a change throws.
 */
export function applyChange(target: Record<string, unknown>, change: DataChange, mine?: (top: Segment[]) => unknown): void {
  try {
    if (change.deleted) deleteAt(target, change.segments);
    else setAt(target, change.segments, cloneIfObject(change.value));
  } catch (err) {
    if (!mine) throw err;
    const top = change.segments.slice(0, 1);
    const value = mine(top);
    if (value === undefined) deleteAt(target, top);
    else setAt(target, top, cloneIfObject(value));
  }
}

function cloneIfObject(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
}
