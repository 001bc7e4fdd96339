/**
 * Commands on state.json that are not the StateManager's in-memory work:
 * moving a corrupt file aside, and committing a state.json another tool wrote.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateRepo, WriteResult } from '../core/repo.js';
import { ASIDE_DIR, readStateFile, STATE_FILE } from './manager.js';

export { ASIDE_DIR } from './manager.js';

const EMPTY = '{}\n';

export interface ResetResult extends WriteResult {
  /** Where the previous content was kept, if there was any. */
  aside: string | null;
}

/**
 * Start state.json afresh: its current content (valid or not) is moved to
 * `.gitstate/aside/state.json.<time>` and `{}` takes its place, in one commit.
 * Afterwards state.json on disk is `{}` whatever HEAD held before (when HEAD
 * already had `{}`, the commit only adds the aside copy, and the file on disk is
 * put back to HEAD's content under the repository lock).
 */
export async function resetState(repo: StateRepo, now = new Date()): Promise<ResetResult> {
  const previous = await readFile(join(repo.dir, STATE_FILE)).catch(() => null);
  const aside = previous ? `${ASIDE_DIR}/${STATE_FILE}.${now.toISOString().replace(/[:.]/g, '-')}` : null;
  const files = [{ path: STATE_FILE, content: Buffer.from(EMPTY) }, ...(aside && previous ? [{ path: aside, content: previous }] : [])];
  const result = await repo.commitFiles(files, {
    op: 'reset',
    subject: aside ? `reset ${STATE_FILE}: previous content moved to ${aside}` : `reset ${STATE_FILE}`,
  }, { diskKept: true });
  await repo.locked(async ({ store }) => {
    const disk = await readFile(join(repo.dir, STATE_FILE)).catch(() => null);
    if (disk && disk.toString('utf8') === EMPTY) return;
    // Only HEAD's own `{}` goes on disk; a flush that got in since is left alone.
    const atHead = await store.blobOidAt(await store.headOid(), STATE_FILE);
    if (atHead !== store.hashBlob(Buffer.from(EMPTY))) return;
    replaceFile(join(repo.dir, STATE_FILE), EMPTY);
  });
  return { ...result, aside };
}

/** Write a file whole by temp file, fsync and rename, so a reader sees the old or the new content. */
function replaceFile(path: string, text: string): void {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * Commit state.json as it is on disk when it differs from HEAD (written by a
 * tool that does not commit, or left by a process that died before flushing).
 */
export async function flushStateFile(repo: StateRepo): Promise<WriteResult> {
  await readStateFile(repo.dir); // refuses a corrupt file: nothing is committed
  const content = await readFile(join(repo.dir, STATE_FILE)).catch(() => null);
  if (!content) return { commit: (await (await repo.store()).headOid()) ?? '', changed: false, files: [] };
  return repo.commitFiles([{ path: STATE_FILE, content }], { op: 'flush', subject: `flush ${STATE_FILE}` });
}
