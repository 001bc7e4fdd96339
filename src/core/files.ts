/** Reading state files from the work tree, safely. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { YamlError } from '../errors.js';
import { assertNoSymlinks } from './paths.js';

/** The bytes of a state file, or null when it does not exist. Refuses symlinks and non-files. */
export async function readStateBytes(root: string, path: string): Promise<Uint8Array | null> {
  await assertNoSymlinks(root, path);
  try {
    // Synchronous: a state file is small, and an async read costs four thread-pool round trips.
    return readFileSync(join(root, path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') throw new YamlError(`${path} is a folder, not a state file`);
    throw err;
  }
}
