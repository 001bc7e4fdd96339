/**
 * Commit messages: a subject that says what happened, an optional note (-m),
 * and trailers that make history machine-readable.
 */
import { hostName } from './author.js';

export type OpName =
  | 'init'
  | 'set'
  | 'append'
  | 'delete'
  | 'merge'
  | 'write'
  | 'batch'
  | 'recover'
  | 'flush'
  | 'reset'
  | 'rollback'
  | 'revert'
  | 'undo'
  | 'commit'
  | 'upgrade'
  | 'sync-merge';

export interface OpRecord {
  op: OpName;
  file: string;
  key?: string;
}

export interface MessageOptions {
  /** A note from the user (`-m`), after the subject. */
  note?: string;
  /** The commit's operation, when it is not that of its single op (batch, flush, recover...). */
  op?: OpName;
  /** Overrides the generated subject. */
  subject?: string;
}

export function commitMessage(ops: readonly OpRecord[], options: MessageOptions = {}): string {
  const single = ops.length === 1 && !options.op ? ops[0]! : undefined;
  const files = [...new Set(ops.map((o) => o.file))];
  const op = options.op ?? (single ? single.op : 'batch');
  const subject =
    options.subject ??
    (single
      ? [single.op, single.file, single.key].filter(Boolean).join(' ')
      : `${op}: ${ops.length} operation${ops.length === 1 ? '' : 's'} on ${files.join(', ')}`);
  const body: string[] = [];
  if (options.note?.trim()) body.push(options.note.trim());
  if (!single && ops.length > 1) body.push(ops.map((o) => `- ${[o.op, o.file, o.key].filter(Boolean).join(' ')}`).join('\n'));
  const trailers = [`Gitstate-Op: ${op}`, ...files.map((f) => `Gitstate-File: ${f}`)];
  for (const key of new Set(ops.map((o) => o.key).filter((k): k is string => Boolean(k)))) trailers.push(`Gitstate-Key: ${key}`);
  trailers.push(`Gitstate-Host: ${hostName()}`);
  return [subject, ...body, trailers.join('\n')].join('\n\n') + '\n';
}
