/**
 * Commit messages: a subject that says what happened, an optional note (-m),
 * and trailers that make history machine-readable.
 *
 * Only gitstate writes `Gitstate-*` trailers: a note may not contain a line
 * that looks like one, so history cannot be forged from `-m`. The subject is
 * one line. Names in the subject and trailers (file names, keys) that look
 * like secrets are redacted, so deleting a secret someone else committed never
 * copies it into the message; the note is the user's own text, kept as given
 * (the guard refuses one that holds a secret).
 */
import { OperationError } from '../errors.js';
import { redactText } from '../security/scan.js';
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
  /** The `Gitstate-Host` trailer (default: this process's host name). */
  host?: string;
}

const TRAILER_LINE = /^\s*gitstate-[A-Za-z0-9-]*\s*:/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x08\x0b-\x1f\x7f]/;

/** Refuse a note that could pass for gitstate's own trailers or carries control characters; returns it trimmed. */
export function checkNote(note: string): string {
  const trimmed = note.replace(/\r\n?/g, '\n').trim();
  if (CONTROL.test(trimmed)) throw new OperationError('the commit note (-m) contains a control character; only text, tabs and newlines are kept');
  const forged = trimmed.split('\n').find((line) => TRAILER_LINE.test(line));
  if (forged !== undefined) {
    throw new OperationError('the commit note (-m) has a line starting "Gitstate-…:"; those trailers are written by gitstate alone (reword the line)');
  }
  return trimmed;
}

/** One line, no control characters, secret-looking parts redacted. */
function oneLine(text: string): string {
  return redactText(text.replace(/[\0-\x1f\x7f]+/g, ' ').trim());
}

export function commitMessage(ops: readonly OpRecord[], options: MessageOptions = {}): string {
  const single = ops.length === 1 && !options.op ? ops[0]! : undefined;
  const files = [...new Set(ops.map((o) => o.file))];
  const op = options.op ?? (single ? single.op : 'batch');
  const subject = oneLine(
    options.subject ??
      (single
        ? [single.op, single.file, single.key].filter(Boolean).join(' ')
        : `${op}: ${ops.length} operation${ops.length === 1 ? '' : 's'} on ${files.join(', ')}`),
  );
  const body: string[] = [];
  const note = options.note ? checkNote(options.note) : '';
  if (note) body.push(note);
  if (!single && ops.length > 1) body.push(ops.map((o) => `- ${oneLine([o.op, o.file, o.key].filter(Boolean).join(' '))}`).join('\n'));
  const trailers = [`Gitstate-Op: ${op}`, ...files.map((f) => `Gitstate-File: ${oneLine(f)}`)];
  for (const key of new Set(ops.map((o) => o.key).filter((k): k is string => Boolean(k)))) trailers.push(`Gitstate-Key: ${oneLine(key)}`);
  trailers.push(`Gitstate-Host: ${oneLine(options.host ?? hostName())}`);
  return [subject, ...body, trailers.join('\n')].join('\n\n') + '\n';
}
