/**
 * Commit messages: a subject that says what happened, an optional note (-m),
 * and trailers that make history machine-readable.
 */
import { hostName } from './author.js';

export type OpName = 'init' | 'set' | 'append' | 'delete' | 'merge' | 'write' | 'batch' | 'recover' | 'flush' | 'reset' | 'rollback' | 'revert' | 'merge-sync';

export interface OpRecord {
  op: OpName;
  file: string;
  key?: string;
}

export function commitMessage(ops: readonly OpRecord[], note?: string, opName?: OpName): string {
  const single = ops.length === 1 ? ops[0]! : undefined;
  const files = [...new Set(ops.map((o) => o.file))];
  const op = opName ?? (single ? single.op : 'batch');
  const subject = single && !opName
    ? [single.op, single.file, single.key].filter(Boolean).join(' ')
    : `${op}: ${ops.length} operation${ops.length === 1 ? '' : 's'} on ${files.join(', ')}`;
  const body: string[] = [];
  if (note?.trim()) body.push(note.trim());
  if (!single || opName) body.push(ops.map((o) => `- ${[o.op, o.file, o.key].filter(Boolean).join(' ')}`).join('\n'));
  const trailers = [`Gitstate-Op: ${op}`, ...files.map((f) => `Gitstate-File: ${f}`)];
  for (const key of new Set(ops.map((o) => o.key).filter((k): k is string => Boolean(k)))) trailers.push(`Gitstate-Key: ${key}`);
  trailers.push(`Gitstate-Host: ${hostName()}`);
  return [subject, ...body, trailers.join('\n')].join('\n\n') + '\n';
}
