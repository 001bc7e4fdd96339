/**
 * Compiling a user schema (see user.ts) with zod's `z.fromJSONSchema`: loaded
 * only for repos that have user schemas, and for writes of a schema file.
 */
import * as z from '../base/zod.js';
import { SchemaError } from '../errors.js';
import { FILES_KEY, globsOf, globToRegExp, regexSources, type UserSchema } from './user.js';

/** Compile a user schema (the parsed content of `file`); a SchemaError says why it does not compile. */
export function compileUserSchema(json: unknown, file: string): UserSchema {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SchemaError(`user schema ${file} must be a JSON object`);
  }
  const globs = globsOf(json);
  if (!globs) throw new SchemaError(`user schema ${file} needs "${FILES_KEY}": a list of file patterns it applies to`);
  const patterns = regexSources(json);
  for (const source of patterns) {
    try {
      new RegExp(source);
    } catch (err) {
      throw new SchemaError(`user schema ${file} has a pattern that is not a regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '')}`);
    }
  }
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
    // Some problems show only when a value is checked: try one that runs no pattern.
    schema.safeParse(undefined);
  } catch (err) {
    throw new SchemaError(`user schema ${file} could not be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  const matchers = globs.map(globToRegExp);
  return { file, schema, patterns, matches: (path) => !path.startsWith('.gitstate/') && matchers.some((p) => p.test(path)) };
}

/** Check the content of a user schema file as it is written: it must compile. */
export function checkUserSchemaFile(path: string, value: unknown): void {
  compileUserSchema(value, path);
}

