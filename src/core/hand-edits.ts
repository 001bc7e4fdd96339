/**
 * Hand edits found before a write: a file the write is about to change whose
 * bytes on disk differ from HEAD (edited by hand or by another tool, never
 * committed). They are kept first, in a commit of their own, once they pass the
 * same checks as any write; a write never silently overwrites them.
 */
import { OperationError } from '../errors.js';
import { readStateBytes } from '../base/files.js';
import { blobOid } from '../git/objects.js';
import type { Stage } from '../git/stage.js';
import { commitMessage } from './message.js';
import type { FileChange } from './types.js';

export async function findHandEdits(
  dir: string,
  stage: Stage,
  changes: readonly FileChange[],
  checkFile: (path: string, bytes: Uint8Array) => Promise<void>,
): Promise<{ changes: FileChange[]; message: string } | null> {
  const edited: FileChange[] = [];
  for (const change of changes) {
    // an earlier write of this group changed it: what is on disk is not the truth for it any more
    if (stage.fileContent(change.path) !== undefined) continue;
    const bytes = await readStateBytes(dir, change.path);
    const onDisk = bytes ? blobOid(bytes) : null;
    if (onDisk === (await stage.blobOidAt(stage.head, change.path))) continue;
    if (bytes && change.content && Buffer.compare(Buffer.from(bytes), Buffer.from(change.content)) === 0) continue;
    if (bytes) {
      try {
        await checkFile(change.path, bytes);
      } catch (err) {
        throw new OperationError(
          `${change.path} has uncommitted changes on disk that fail validation (${(err as Error).message}); fix them, or discard them with "git -C ${dir} checkout -- ${change.path}"`,
        );
      }
    }
    edited.push({ path: change.path, content: bytes });
  }
  if (edited.length === 0) return null;
  const paths = edited.map((c) => c.path);
  const message = commitMessage(
    paths.map((file) => ({ op: 'recover' as const, file })),
    { op: 'recover', subject: `recover uncommitted changes to ${paths.join(', ')}`, note: 'Found on disk, never committed; kept before the next write.' },
  );
  return { changes: edited, message };
}
