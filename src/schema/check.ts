/**
 * The schema check of every write, loading zod (validate.ts) only when the
 * file needs it: a built-in schema beyond "a map", a user schema that applies,
 * or a user schema file being written. Knowledge and shared_context (most
 * writes) and files without a schema are checked here, and say what zod would.
 */
import { SchemaError } from '../errors.js';
import { builtinKind } from './kinds.js';
import { isUserSchemaFile, type UserSchema } from './user.js';

export async function checkSchemas(path: string, value: unknown, userSchemas: readonly UserSchema[]): Promise<void> {
  const kind = builtinKind(path);
  const needsZod = (kind !== undefined && kind !== 'map') || isUserSchemaFile(path) || userSchemas.some((user) => user.matches(path));
  if (needsZod) {
    const { validateContent } = await import('./validate.js');
    return validateContent(path, value, userSchemas);
  }
  if (kind === 'map' && !isMapOrEmpty(value)) {
    const got = value === undefined ? 'but it is missing' : `received ${typeName(value)}`;
    throw new SchemaError(`${path}: (top level): expected record, ${got} (schema)`, { file: path, key: '(top level)' });
  }
}

/** What z.record(...).nullable() accepts: null, or an object whose prototype is Object's or none. */
function isMapOrEmpty(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** zod's name for what it got instead. */
function typeName(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // NaN, Infinity, -Infinity (YAML's .nan, .inf)
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
