/**
 * Project routing, as the original memory tools do it: with a current project
 * set, `current_work` (and `state/current_work`) means
 * `projects/<project>/current_work.yaml`. The current project is, in this order:
 * the caller's `project` (the MCP tool argument, `--project` on the CLI), then
 * `GITSTATE_PROJECT`, then `current_project` in state.json. `root` (`--root`)
 * reaches the root file whatever is set. Every other file is taken as given.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, PathError, UsageError } from '../errors.js';
import { normalizeStatePath, printable } from '../base/paths.js';
import { StateCorruptError, STATE_FILE } from '../state/corrupt.js';

/** The files a current project redirects. */
export const ROUTED_FILES: ReadonlySet<string> = new Set(['current_work.yaml']);
export const PROJECT_ENV = 'GITSTATE_PROJECT';
const PROJECT_NAME = /^[\p{L}\p{N}_][\p{L}\p{N}._@+-]*$/u;

export interface RouteOptions {
  /** The caller's project (tool argument, --project): wins over everything else. */
  project?: string;
  /** Reach the root file even with a current project. */
  root?: boolean;
  /** The environment to read GITSTATE_PROJECT from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * `current_project` from state.json; default: read from the work tree. The MCP
   * server passes its StateManager's view, which includes unflushed changes.
   */
  currentProject?: () => string | null;
}

export interface CurrentProject {
  name: string | null;
  source: 'argument' | 'env' | 'state.json' | null;
}

/** The current project and where it came from (null: none is set). */
export function currentProject(dir: string, options: RouteOptions = {}): CurrentProject {
  if (options.project !== undefined && options.project !== '') return { name: checkProjectName(options.project, 'project'), source: 'argument' };
  const env = (options.env ?? process.env)[PROJECT_ENV];
  if (env) return { name: checkProjectName(env, PROJECT_ENV), source: 'env' };
  const fromState = (options.currentProject ?? (() => currentProjectOnDisk(dir)))();
  return fromState ? { name: checkProjectName(fromState, `current_project in ${STATE_FILE}`), source: 'state.json' } : { name: null, source: null };
}

/**
 * The repo-relative path a FILE argument means: normalized, and for a routed
 * file with a current project, that project's copy. A project that has no
 * folder is NOT_FOUND, so a misspelt name never starts a new project by accident.
 */
export function routeFile(dir: string, file: string, options: RouteOptions = {}): string {
  if (options.root && options.project) throw new UsageError('give either a project or root, not both');
  // a project named is checked whether or not this file is routed by it
  if (options.project) checkProjectName(options.project, 'project');
  const path = normalizeStatePath(file);
  if (options.root || !ROUTED_FILES.has(path)) return path;
  const { name, source } = currentProject(dir, options);
  if (!name) return path;
  if (!isFolder(join(dir, 'projects', name))) {
    const from = source === 'argument' ? '' : ` (from ${source === 'env' ? PROJECT_ENV : `current_project in ${STATE_FILE}`})`;
    throw new NotFoundError(
      `project "${name}"${from} does not exist: no folder projects/${name}/ in the state repo; create it with "gitstate set projects/${name}/${path} branch main", or use the root file (root: true, --root)`,
      { project: name },
    );
  }
  return `projects/${name}/${path}`;
}

export function checkProjectName(name: string, where: string): string {
  if (typeof name !== 'string' || name.length > 100 || !PROJECT_NAME.test(name)) {
    throw new PathError(`${where}: "${printable(String(name))}" is not a project name (one folder name: letters, digits, _ . @ + -)`);
  }
  return name;
}

/**
 * `current_project` as state.json on disk has it. A state.json that is not JSON
 * cannot say, and guessing could send a write to the wrong file: that is an
 * error naming the way out. A state.json off its schema elsewhere still answers.
 */
export function currentProjectOnDisk(dir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new StateCorruptError(
      `cannot tell the current project: ${STATE_FILE} is not valid JSON; run "gitstate state reset", or name the file's project (project / --project) or the root file (root: true / --root)`,
    );
  }
  const value = data !== null && typeof data === 'object' ? (data as Record<string, unknown>).current_project : undefined;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new StateCorruptError(`current_project in ${STATE_FILE} must be a project name; fix it with "gitstate state set current_project NAME"`);
  return value;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
