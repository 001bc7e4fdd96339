/**
 * State file names: what a user may pass as FILE, and the checks that keep every
 * file inside the state directory and out of `.git/`.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { PathError } from '../errors.js';
import { redactText } from '../security/redact.js';

export const STATE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Static configuration with credentials: never stored in the state repo. */
const FORBIDDEN_NAMES = new Set(['config.json']);
/** The only dot-folder a user may write into: gitstate's own settings (schemas). */
const SETTINGS_DIR = '.gitstate';
/** Local to one machine (ignored by git): never committed, so never a FILE. */
const LOCAL_DIR = '.gitstate/local/';
const MAX_DEPTH = 8;
/** Bytes a name component may have: the limit of ext4, xfs, btrfs, APFS and NTFS alike (NTFS counts 255 UTF-16 units). */
export const MAX_COMPONENT_BYTES = 255;
// Letters, digits and a few safe punctuation marks; no `%`, `\`, control chars or spaces.
export const SEGMENT = /^[\p{L}\p{N}_][\p{L}\p{N}._@+-]*$/u;
/** SEGMENT for an ASCII name (the usual case): compiling SEGMENT's Unicode classes costs a CLI call ~0.6 ms. */
const ASCII_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._@+-]*$/;
const ASCII = /^[\x00-\x7f]*$/;

/** Whether `segment` is made of letters, digits and the safe punctuation marks (SEGMENT). */
export function isSegmentAllowed(segment: string): boolean {
  return ASCII.test(segment) ? ASCII_SEGMENT.test(segment) : SEGMENT.test(segment);
}
/** Names Windows keeps for devices, with any extension (`con.yaml`, `NUL.json`). */
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(?:\.|$)/i;

/**
 * Turn a user's FILE argument into a repo-relative POSIX path with an extension.
 * Accepts `current_work`, `current_work.yaml`, `state/current_work` (the seed's
 * keys) and `projects/backend/current_work`. Pure: no disk access.
 *
 * The rules hold on every common file system, so a repo checks out anywhere:
 * each component at most 255 bytes (the extension included), in Unicode NFC,
 * never ending in `.` or containing `..`, no Windows device name; folders
 * never end in a state file's extension (so a folder never shadows a file).
 */
export function normalizeStatePath(input: string): string {
  if (typeof input !== 'string' || input.length === 0) throw new PathError('file name is empty');
  if (input.includes('\0')) throw new PathError('file name contains a NUL byte');
  if (input.includes('\\')) throw new PathError(`file name "${printable(input)}" contains a backslash`);
  if (input.startsWith('/') || /^[A-Za-z]:/.test(input)) {
    throw new PathError(`file name "${printable(input)}" is absolute; give a path inside the state directory`);
  }
  if (input.normalize('NFC') !== input) {
    throw new PathError(`file name "${printable(input)}" is not in Unicode NFC form (macOS would store it as another name); type it again or normalise it`);
  }
  let path = input.startsWith('state/') ? input.slice('state/'.length) : input;
  if (path.length === 0) throw new PathError(`file name "${printable(input)}" names the state directory itself`);
  const segments = path.split('/');
  if (segments.length > MAX_DEPTH) throw new PathError(`file name "${printable(input)}" is nested deeper than ${MAX_DEPTH} folders`);
  segments.forEach((segment, i) => checkSegment(segment, i, segments.length, input));
  if (!STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) path += '.yaml';
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (Buffer.byteLength(base) > MAX_COMPONENT_BYTES) {
    throw new PathError(`file name "${printable(input)}" has a component of ${Buffer.byteLength(base)} bytes (as ${printable(base, 20)}); the limit is ${MAX_COMPONENT_BYTES} bytes`);
  }
  if (FORBIDDEN_NAMES.has(base)) {
    throw new PathError(`"${path}" is static configuration with credentials and is never stored in the state repo`);
  }
  if (path.startsWith(LOCAL_DIR)) {
    throw new PathError(`"${printable(path)}" is under ${LOCAL_DIR}, which is local to this machine and never committed`);
  }
  return path;
}

function checkSegment(segment: string, index: number, count: number, input: string): void {
  if (segment === '') throw new PathError(`file name "${printable(input)}" has an empty path segment`);
  if (segment === '.' || segment === '..') {
    throw new PathError(`file name "${printable(input)}" contains "${segment}"; paths may not leave the state directory`);
  }
  if (segment.toLowerCase() === '.git' || segment.toLowerCase().startsWith('.git') && segment !== SETTINGS_DIR) {
    throw new PathError(`file name "${printable(input)}" points into git's own files`);
  }
  if (segment === SETTINGS_DIR && index === 0) return;
  if (Buffer.byteLength(segment) > MAX_COMPONENT_BYTES) {
    throw new PathError(`file name "${printable(input)}" has a component of ${Buffer.byteLength(segment)} bytes; the limit is ${MAX_COMPONENT_BYTES} bytes`);
  }
  if (!isSegmentAllowed(segment)) {
    throw new PathError(`file name "${printable(input)}" has an unsupported character in "${printable(segment)}" (letters, digits, _ . @ + - only)`);
  }
  if (segment.endsWith('.')) throw new PathError(`file name "${printable(input)}" has a component ending in "." (Windows drops it)`);
  if (segment.includes('..')) throw new PathError(`file name "${printable(input)}" contains ".."`);
  if (WINDOWS_RESERVED.test(segment)) throw new PathError(`file name "${printable(input)}" uses "${printable(segment)}", a name Windows keeps for a device`);
  if (index < count - 1 && STATE_EXTENSIONS.some((ext) => segment.endsWith(ext))) {
    throw new PathError(`file name "${printable(input)}" uses "${printable(segment)}" as a folder; a folder may not end in ${STATE_EXTENSIONS.join(', ')}`);
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
  // the system's realpath(3), as fs/promises' realpath is; sync, as node:fs/promises costs a CLI call ~2 ms to load
  const real = realpathSync.native(dir);
  return real.endsWith(sep) && real.length > 1 ? real.slice(0, -1) : real;
}

/** Shorten and escape a user string for an error message; secret-looking parts are redacted. */
export function printable(value: string, max = 80): string {
  const escaped = JSON.stringify(redactText(value)).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

export function isJsonPath(path: string): boolean {
  return path.endsWith('.json');
}
