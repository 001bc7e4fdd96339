/**
 * Validation of a state file's content: its built-in schema, any user schema
 * that names it, and nothing more for other files (being valid YAML is enough).
 */
import type { z } from 'zod';
import { SchemaError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { builtinSchemaFor } from './builtin.js';
import type { UserSchema } from './user.js';

type Issue = z.core.$ZodIssue;

/** Throw a SchemaError naming the key path and what was expected, or return. */
export function validateContent(path: string, value: unknown, userSchemas: readonly UserSchema[] = []): void {
  const builtin = builtinSchemaFor(path, value);
  if (builtin) check(path, value, builtin, 'schema');
  for (const user of userSchemas) {
    if (user.matches(path)) check(path, value, user.schema, `schema ${user.file}`);
  }
}

function check(path: string, value: unknown, schema: z.ZodType, which: string): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issue = deepest(result.error.issues);
  const at = formatKeyPath(issue.path.map(toSegment)) || '(top level)';
  throw new SchemaError(`${path}: ${at}: ${describeIssue(issue)} (${which})`, { file: path, key: at });
}

/** Of a union's branches, the issue that got furthest into the value explains it best. */
function deepest(issues: readonly Issue[], prefix: PropertyKey[] = []): Issue & { path: PropertyKey[] } {
  let best: (Issue & { path: PropertyKey[] }) | undefined;
  for (const issue of issues) {
    let candidate: Issue & { path: PropertyKey[] } = { ...issue, path: [...prefix, ...issue.path] };
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      candidate = deepest(issue.errors.flat(), candidate.path);
    }
    if (!best || candidate.path.length > best.path.length) best = candidate;
  }
  return best!;
}

/** The issue in the file's terms: zod's "received undefined" means the key is missing. */
function describeIssue(issue: Issue): string {
  return issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, ', but it is missing');
}

function toSegment(key: PropertyKey): Segment {
  return typeof key === 'number' ? { kind: 'index', index: key } : { kind: 'key', name: String(key) };
}
