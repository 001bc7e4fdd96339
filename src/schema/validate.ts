/**
 * Validation of a state file's content: its built-in schema, any user schema
 * that names it, and nothing more for other files (being valid YAML is enough).
 */
import type * as z from 'zod';
import { SchemaError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { builtinSchemaFor } from './builtin.js';
import { redactText } from '../security/redact.js';
import { brokenSchemaError, isUserSchemaFile, type UserSchema } from './user.js';
import { checkUserSchemaFile } from './compile.js';

type Issue = z.core.$ZodIssue;

/**
 * Throw a SchemaError naming the key path and what was expected, or return.
 * A user schema file is compiled (refused when it does not compile). Returns a
 * promise when a user schema with patterns applies: those run under a time
 * budget first (regex-budget.ts); without user schemas it is synchronous.
 */
export function validateContent(path: string, value: unknown, userSchemas: readonly UserSchema[] = []): void | Promise<void> {
  if (isUserSchemaFile(path)) checkUserSchemaFile(path, value);
  const builtin = builtinSchemaFor(path, value);
  if (builtin) check(path, value, builtin, 'schema');
  const applying = userSchemas.filter((user) => user.matches(path));
  for (const user of applying) if (!user.schema) throw brokenSchemaError(user, path);
  if (applying.some((user) => user.patterns.length > 0)) return checkUsers(path, value, applying);
  for (const user of applying) check(path, value, user.schema!, `schema ${user.file}`);
}

async function checkUsers(path: string, value: unknown, users: readonly UserSchema[]): Promise<void> {
  const { checkPatternBudget } = await import('./regex-budget.js');
  for (const user of users) {
    await checkPatternBudget(user.patterns, value, { schema: user.file, file: path });
    check(path, value, user.schema!, `schema ${user.file}`);
  }
}

function check(path: string, value: unknown, schema: z.ZodType, which: string): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issue = deepest(result.error.issues);
  const at = redactText(formatKeyPath(issue.path.map(toSegment))) || '(top level)';
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
