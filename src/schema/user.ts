/**
 * User schemas: JSON Schema files in the state repo, under `.gitstate/schemas/`,
 * each naming the files it applies to in `x-gitstate-files` (`*` matches within
 * one path segment, `**` across segments). Loaded with zod's `z.fromJSONSchema`.
 */
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { SchemaError } from '../errors.js';

export const USER_SCHEMA_DIR = '.gitstate/schemas';
const FILES_KEY = 'x-gitstate-files';

export interface UserSchema {
  /** Repo-relative path of the schema file. */
  file: string;
  schema: z.ZodType;
  matches(path: string): boolean;
}

interface Cached {
  stamp: string;
  schemas: UserSchema[];
}
const cache = new Map<string, Cached>();

/** The user schemas of a state repo; re-read only when the folder or a file in it changed. */
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
  } catch (err) {
    throw new SchemaError(`user schema ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return compileUserSchema(json, file);
}

export function compileUserSchema(json: unknown, file: string): UserSchema {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SchemaError(`user schema ${file} must be a JSON object`);
  }
  const globs = (json as Record<string, unknown>)[FILES_KEY];
  if (!Array.isArray(globs) || globs.length === 0 || !globs.every((g) => typeof g === 'string')) {
    throw new SchemaError(`user schema ${file} needs "${FILES_KEY}": a list of file patterns it applies to`);
  }
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    throw new SchemaError(`user schema ${file} could not be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  const patterns = (globs as string[]).map(globToRegExp);
  return { file, schema, matches: (path) => patterns.some((p) => p.test(path)) };
}

/** `*` is any run of characters but `/`; `**` any run including `/`; the rest is literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('**')
    .map((part) => part.split('*').map((lit) => lit.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`);
}
