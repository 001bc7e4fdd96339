/**
 * State file names: what a user may pass as FILE, and the checks that keep every
 * file inside the state directory and out of `.git/`.
 */
import { lstatSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PathError } from '../errors.js';

export const STATE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Static configuration with credentials: never stored in the state repo. */
const FORBIDDEN_NAMES = new Set(['config.json']);
/** The only dot-folder a user may write into: gitstate's own settings (schemas). */
const SETTINGS_DIR = '.gitstate';
const MAX_DEPTH = 8;
const MAX_SEGMENT = 100;
// Letters, digits and a few safe punctuation marks; no `%`, `\`, control chars or spaces.
const SEGMENT = /^[\p{L}\p{N}_][\p{L}\p{N}._@+-]*$/u;

/**
 * Turn a user's FILE argument into a repo-relative POSIX path with an extension.
 * Accepts `current_work`, `current_work.yaml`, `state/current_work` (the seed's
 * keys) and `projects/backend/current_work`. Pure: no disk access.
 */
export function normalizeStatePath(input: string): string {
  if (typeof input !== 'string' || input.length === 0) throw new PathError('file name is empty');
  if (input.includes('\0')) throw new PathError('file name contains a NUL byte');
  if (input.includes('\\')) throw new PathError(`file name "${printable(input)}" contains a backslash`);
  if (input.startsWith('/') || /^[A-Za-z]:/.test(input)) {
    throw new PathError(`file name "${printable(input)}" is absolute; give a path inside the state directory`);
  }
  let path = input.startsWith('state/') ? input.slice('state/'.length) : input;
  if (path.length === 0) throw new PathError(`file name "${printable(input)}" names the state directory itself`);
  const segments = path.split('/');
  if (segments.length > MAX_DEPTH) throw new PathError(`file name "${printable(input)}" is nested deeper than ${MAX_DEPTH} folders`);
  segments.forEach((segment, i) => checkSegment(segment, i, input));
  if (!STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) path += '.yaml';
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (FORBIDDEN_NAMES.has(base)) {
    throw new PathError(`"${path}" is static configuration with credentials and is never stored in the state repo`);
  }
  return path;
}

function checkSegment(segment: string, index: number, input: string): void {
  if (segment === '' ) throw new PathError(`file name "${printable(input)}" has an empty path segment`);
  if (segment === '.' || segment === '..') {
    throw new PathError(`file name "${printable(input)}" contains "${segment}"; paths may not leave the state directory`);
  }
  if (segment.toLowerCase() === '.git' || segment.toLowerCase().startsWith('.git') && segment !== SETTINGS_DIR) {
    throw new PathError(`file name "${printable(input)}" points into git's own files`);
  }
  if (segment === SETTINGS_DIR && index === 0) return;
  if (segment.length > MAX_SEGMENT) throw new PathError(`file name "${printable(input)}" has a segment over ${MAX_SEGMENT} characters`);
  if (!SEGMENT.test(segment)) {
    throw new PathError(`file name "${printable(input)}" has an unsupported character in "${printable(segment)}" (letters, digits, _ . @ + - only)`);
  }
}

/**
 * Check that no existing component of `relPath` under `root` is a symlink, so a
 * link cannot carry a write out of the state directory. `root` must be a real path.
 * `parentsOnly`: the folders only, for a caller that opens the file with O_NOFOLLOW.
 */
export async function assertNoSymlinks(root: string, relPath: string, { parentsOnly = false } = {}): Promise<void> {
  let current = root;
  const segments = relPath.split('/');
  if (parentsOnly) segments.pop();
  for (const segment of segments) {
    current = join(current, segment);
    let stats;
    try {
      stats = lstatSync(current); // sync: a few µs, against a thread-pool round trip
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // the rest does not exist yet
      throw err;
    }
    if (stats.isSymbolicLink()) throw symlinkError(relPath);
  }
}

export function symlinkError(relPath: string): PathError {
  return new PathError(`"${relPath}" goes through a symbolic link; state files must be plain files inside the state directory`);
}

/** The real path of the state directory, so later checks compare like with like. */
export async function realDir(dir: string): Promise<string> {
  const real = await realpath(dir);
  return real.endsWith(sep) && real.length > 1 ? real.slice(0, -1) : real;
}

/** Shorten and escape a user string for an error message. */
export function printable(value: string, max = 80): string {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

export function isJsonPath(path: string): boolean {
  return path.endsWith('.json');
}
