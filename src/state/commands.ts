/**
 * Commands on state.json that are not the StateManager's in-memory work:
 * moving a corrupt file aside, and committing a state.json another tool wrote.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateRepo, WriteResult } from '../core/repo.js';
import { readStateFile, STATE_FILE } from './manager.js';

export const ASIDE_DIR = '.gitstate/aside';

export interface ResetResult extends WriteResult {
  /** Where the previous content was kept, if there was any. */
  aside: string | null;
}

/**
 * Start state.json afresh: its current content (valid or not) is moved to
 * `.gitstate/aside/state.json.<time>` and `{}` takes its place, in one commit.
 */
export async function resetState(repo: StateRepo, now = new Date()): Promise<ResetResult> {
  const previous = await readFile(join(repo.dir, STATE_FILE)).catch(() => null);
  const aside = previous ? `${ASIDE_DIR}/${STATE_FILE}.${now.toISOString().replace(/[:.]/g, '-')}` : null;
  const files = [{ path: STATE_FILE, content: Buffer.from('{}\n') }, ...(aside && previous ? [{ path: aside, content: previous }] : [])];
  const result = await repo.commitFiles(files, {
    op: 'reset',
    subject: aside ? `reset ${STATE_FILE}: previous content moved to ${aside}` : `reset ${STATE_FILE}`,
  }, { diskKept: true });
  return { ...result, aside };
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
