/**
 * The checks a state.json change passes before the StateManager takes it:
 * synchronous, so a bad value is refused by `set` itself and never becomes a
 * pending change that would fail every later flush. The flush still runs the
 * full checks of any write; these are the same rules, applied early.
 */
import { OperationError, SizeError } from '../errors.js';
import { type Segment } from '../base/keypath.js';
import { checkDepth, checkStrings, MAX_VALUE_BYTES } from '../yaml/document.js';
import { assertNoSecrets, loadAllowList, type AllowList } from '../security/secrets.js';
import { loadUserSchemas, type UserSchema } from '../schema/user.js';
import { stateJson } from '../schema/builtin.js';
import { validateContent } from '../schema/validate.js';
import { STATE_FILE } from './corrupt.js';


/** The repo's allow-list and user schemas, loaded ahead (they are read asynchronously). */
export interface StateRules {
  allow: AllowList;
  schemas: UserSchema[];
}

export async function loadStateRules(dir: string): Promise<StateRules> {
  const [allow, all] = await Promise.all([loadAllowList(dir), loadUserSchemas(dir)]);
  return { allow, schemas: all.filter((s) => s.matches(STATE_FILE)) };
}

/**
 * The value as it will be stored: a JSON copy (what you set is what a flush
 * writes), within the size, depth and string limits of any written value.
 */
export function storableCopy(value: unknown, key: string): unknown {
  if (value === undefined) throw new OperationError(`no value given for ${key}`);
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  refuseLossyValues(value, key);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new OperationError(`value for ${key} cannot be stored as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw new OperationError(`value for ${key} cannot be stored as JSON (a ${typeof value})`);
  const size = Buffer.byteLength(text);
  if (size > MAX_VALUE_BYTES) throw new SizeError(`value for ${key} is ${size} bytes; the limit is ${MAX_VALUE_BYTES} bytes`);
  const copy: unknown = JSON.parse(text);
  checkDepth(copy, `value for ${key}`);
  checkStrings(copy, `value for ${key}`);
  return copy;
}

/** What JSON would change or drop without a word: infinite numbers, functions, symbols, BigInts. */
function refuseLossyValues(value: unknown, key: string): void {
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) throw new OperationError(`value for ${key} holds ${String(v)}, which cannot be stored (JSON has no such number)`);
    if (typeof v === 'bigint') throw new OperationError(`value for ${key} holds a BigInt, which JSON cannot store; give it as a string`);
    if (typeof v === 'function' || typeof v === 'symbol') throw new OperationError(`value for ${key} holds a ${typeof v}, which JSON cannot store`);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      if (seen.has(v)) continue; // a cycle: JSON.stringify below refuses it
      seen.add(v);
      for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push(child);
    }
  }
}

/**
 * The secret guard over a value about to be set at `segments`: the value is
 * placed at its path, so key-name rules see `tools_config.api_key` and the
 * allow-list matches the path it will have in state.json.
 */
export function assertNoSecretAt(segments: readonly Segment[], value: unknown, allow: AllowList): void {
  let wrapped = value;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    if (s.kind === 'key') wrapped = { [s.name]: wrapped };
    else {
      const list: unknown[] = [];
      list[s.kind === 'index' && s.index >= 0 ? s.index : 0] = wrapped;
      wrapped = list;
    }
  }
  assertNoSecrets(STATE_FILE, wrapped, allow);
}

/** Top-level keys the built-in schema says something about; any other key takes any value. */
const SCHEMA_KEYS = new Set(Object.keys(stateJson.shape));

/** Whether a change under top-level key `top` can break a schema (user schemas can say anything). */
export function schemaCovers(top: string, rules: StateRules): boolean {
  return rules.schemas.length > 0 || SCHEMA_KEYS.has(top);
}

/**
 * Validate state.json as it would be with `changes` (top-level key -> new value,
 * undefined: removed) applied to `data`. Only the keys a schema covers are
 * handed to it, so the cost does not grow with the rest of the state.
 */
export function assertSchemaWith(data: Record<string, unknown>, changes: ReadonlyMap<string, unknown>, rules: StateRules): void {
  const candidate: Record<string, unknown> = {};
  const keys = rules.schemas.length > 0 ? Object.keys(data) : [...SCHEMA_KEYS].filter((k) => Object.hasOwn(data, k));
  for (const k of keys) candidate[k] = data[k];
  for (const [k, v] of changes) {
    if (v === undefined) delete candidate[k];
    else Object.defineProperty(candidate, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  validateContent(STATE_FILE, candidate, rules.schemas);
}
