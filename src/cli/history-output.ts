/** Printing history for humans (the JSON forms print the library's results as they are). */
import type { FileDiff, LogEntry } from '../history/history.js';

/** Where a commit came from: its host (gitstate's trailer), else, for a commit made with native git, its author's name. */
export function who(e: LogEntry): string {
  return e.host ?? e.author.replace(/\s*<[^>]*>$/, '');
}

export function formatLogLine(e: LogEntry): string {
  const when = e.date.replace('T', ' ').slice(0, 16);
  const line = `${e.commit.slice(0, 7)} ${when} ${who(e)} ${e.subject}`;
  if (!('after' in e) && !('before' in e)) return line;
  return `${line}\n        ${show(e.before)} -> ${show(e.after)}`;
}

export function formatDiffs(diffs: FileDiff[], structural: boolean): string {
  return diffs
    .map((d) => {
      if (!structural || !d.changes) return d.patch.replace(/^=+\n/, '');
      const lines = d.changes.map((c) =>
        c.kind === 'added' ? `+ ${c.path}: ${show(c.after)}` : c.kind === 'removed' ? `- ${c.path}: ${show(c.before)}` : `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`,
      );
      return [`${d.path}`, ...lines.map((l) => `  ${l}`)].join('\n');
    })
    .join('\n');
}

function show(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/** `show`'s first lines: the commit, when, who (the message follows, with the subject). */
export function formatCommitHeader(e: LogEntry): string {
  const when = e.date.replace('T', ' ').slice(0, 19);
  return [`commit ${e.commit}`, `Author: ${e.author}${e.host ? ` (host ${e.host})` : ''}`, `Date:   ${when} UTC`].join('\n');
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');
}
