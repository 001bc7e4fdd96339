/**
 * User schemas: JSON Schema files in the state repo, under `.gitstate/schemas/`,
 * each naming the files it applies to in `x-gitstate-files` (`*` matches within
 * one path segment, `**` across segments). Compiled with zod's `z.fromJSONSchema`
 * (compile.ts, loaded only when a repo has user schemas).
 *
 * A schema is compiled when it is written: one that does not compile is
 * refused, and nothing is committed. One already in the repo that does not
 * load (committed by hand, or pulled) blocks only the files it names, with an
 * error that says how to fix it; gitstate's own files (`.gitstate/**`) are
 * never checked by user schemas, so writing a corrected schema always works.
 *
 * Regular expressions (`pattern`, `patternProperties`) run in V8's
 * backtracking engine, where one pattern can take minutes on a short string.
 * Before a schema with patterns checks a value, every pattern is tried on
 * every string and key of the value in a worker thread under a time budget
 * (regex-budget.ts); past it the write is refused, and the main thread stayed
 * free all along (a signal stops the process at once).
 */
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as z from 'zod';
import { SchemaError } from '../errors.js';

export const USER_SCHEMA_DIR = '.gitstate/schemas';
export const FILES_KEY = 'x-gitstate-files';

export interface UserSchema {
  /** Repo-relative path of the schema file. */
  file: string;
  /** The compiled schema; absent when the file does not load (see `error`). */
  schema?: z.ZodType;
  /** Why the schema does not load. */
  error?: string;
  /** The regular expressions the schema runs (sources, as `new RegExp` takes them). */
  patterns: string[];
  matches(path: string): boolean;
}

interface Cached {
  stamp: string;
  schemas: UserSchema[];
}
const cache = new Map<string, Cached>();

/** Is `path` a user schema file (compiled when written)? */
export function isUserSchemaFile(path: string): boolean {
  return path.startsWith(`${USER_SCHEMA_DIR}/`) && path.endsWith('.json');
}

/** The user schemas of a state repo; re-read only when the folder or a file in it changed. A broken one is returned with its error. */
export async function loadUserSchemas(root: string): Promise<UserSchema[]> {
  const dir = join(root, USER_SCHEMA_DIR);
  let names: string[];
  try {
    // Checked on every write: sync calls cost microseconds, async ones a thread-pool round trip.
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const stats = names.map((n) => statSync(join(dir, n)));
  const stamp = names.map((n, i) => `${n}:${stats[i]!.mtimeMs}:${stats[i]!.size}`).join('|');
  const hit = cache.get(dir);
  if (hit && hit.stamp === stamp) return hit.schemas;
  const schemas = await Promise.all(names.map((n) => loadOne(join(dir, n), `${USER_SCHEMA_DIR}/${n}`)));
  cache.set(dir, { stamp, schemas });
  return schemas;
}

async function loadOne(absolute: string, file: string): Promise<UserSchema> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(absolute, 'utf8'));
  } catch {
    return broken(file, 'it is not valid JSON', null);
  }
  try {
    const { compileUserSchema } = await import('./compile.js'); // zod, only when there is a schema to compile
    return compileUserSchema(json, file);
  } catch (err) {
    return broken(file, (err as Error).message.replace(`user schema ${file} `, ''), globsOf(json));
  }
}

/** A schema that does not load: it blocks the files it names (none, when even its file list cannot be read). */
function broken(file: string, error: string, globs: string[] | null): UserSchema {
  const patterns = (globs ?? []).map(globToRegExp);
  return { file, error, patterns: [], matches: (path) => !path.startsWith('.gitstate/') && patterns.some((p) => p.test(path)) };
}

export function globsOf(json: unknown): string[] | null {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const globs = (json as Record<string, unknown>)[FILES_KEY];
  return Array.isArray(globs) && globs.length > 0 && globs.every((g) => typeof g === 'string' && g !== '') ? (globs as string[]) : null;
}

/** The error for a file named by a schema that does not load. */
export function brokenSchemaError(user: UserSchema, path: string): SchemaError {
  return new SchemaError(
    `${path} is checked by ${user.file}, which does not load (${user.error}); write a corrected schema (gitstate write ${user.file} < fixed.json) or remove it (gitstate delete ${user.file})`,
    { file: path, schema: user.file },
  );
}

/** Every regular expression a JSON Schema runs: `pattern` values and `patternProperties` keys, at any depth. */
export function regexSources(json: unknown): string[] {
  const out = new Set<string>();
  const stack: unknown[] = [json];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === 'pattern' && typeof child === 'string') out.add(child);
      if (key === 'patternProperties' && child !== null && typeof child === 'object' && !Array.isArray(child)) for (const p of Object.keys(child)) out.add(p);
      stack.push(child);
    }
  }
  return [...out];
}

/** `*` is any run of characters but `/`; `**` any run including `/`; the rest is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('**')
    .map((part) => part.split('*').map((lit) => lit.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`);
}
