/**
 * config.json: static configuration (project definitions, service URLs,
 * credentials). Read-only input that lives outside the state repository:
 * gitstate never writes it, never copies it into the repo, and refuses to
 * commit any file named config.json.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as z from '../base/zod.js';
import { ExitCode, GitstateError } from '../errors.js';

export const configSchema = z.looseObject({
  projects: z
    .record(
      z.string(),
      z.looseObject({
        path: z.string().optional(),
        repo: z.string().optional(),
        default_branch: z.string().optional(),
      }),
    )
    .optional(),
  services: z.record(z.string(), z.looseObject({ url: z.url() })).optional(),
  credentials: z.record(z.string(), z.unknown()).optional(),
});
export type Config = z.infer<typeof configSchema>;

export class ConfigError extends GitstateError {
  readonly code = 'CONFIG';
  readonly exitCode = ExitCode.rejected;
}

/** Where config.json is: the given path, else $GITSTATE_CONFIG, else beside the state directory. */
export function configPath(stateDir: string, explicit?: string): string {
  return resolve(explicit || process.env.GITSTATE_CONFIG || join(dirname(resolve(stateDir)), 'config.json'));
}

/**
 * Load and validate config.json; null when there is none. The result is frozen.
 * Error messages name key paths and expectations, never values (it holds credentials).
 */
export async function loadConfig(stateDir: string, explicit?: string): Promise<Readonly<Config> | null> {
  const path = configPath(stateDir, explicit);
  const inside = relative(resolve(stateDir), path);
  if (!inside.startsWith('..') && !isAbsolute(inside)) {
    throw new ConfigError(`${path} is inside the state directory; config.json holds credentials and must live outside it`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message.replace(/^Invalid input: /, '')}`);
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
