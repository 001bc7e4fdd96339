/** Reading state files from the work tree, safely. */
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PathError, YamlError } from '../errors.js';
import { assertNoSymlinks, symlinkError } from './paths.js';

/** The bytes of a state file, or null when it does not exist. Refuses symlinks and non-files. */
export async function readStateBytes(root: string, path: string): Promise<Uint8Array | null> {
  await assertNoSymlinks(root, path, { parentsOnly: true });
  // Synchronous: a state file is small, and an async read costs four thread-pool round trips.
  // O_NOFOLLOW refuses a symlink at the file itself (ELOOP) without a separate lstat.
  let fd: number;
  try {
    fd = openSync(join(root, path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw symlinkError(path);
    if (code === 'ENOTDIR') throw new PathError(`"${path}" cannot be a state file: ${notFolder(root, path)} is a file, not a folder`);
    throw err;
  }
  try {
    return readFileSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new YamlError(`${path} is a folder, not a state file`);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Write `line` and a newline over the start of an open file: how gitstate's own
 * small records (the journal, the lock's note) are kept. The file never shrinks,
 * so a rewrite frees no block; a reader takes the first line.
 */
export function writeLine(fd: number, line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, done);
}

/** The first folder on `path` that is not one (for the message). */
function notFolder(root: string, path: string): string {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (!statSync(join(root, prefix), { throwIfNoEntry: false })?.isDirectory()) return prefix;
  }
  return path;
}
