/** Printing history for humans (the JSON forms print the library's results as they are). */
import type { FileDiff, LogEntry } from '../history/history.js';

export function formatLogLine(e: LogEntry): string {
  const when = e.date.replace('T', ' ').slice(0, 16);
  const line = `${e.commit.slice(0, 7)} ${when} ${e.host ?? e.author} ${e.subject}`;
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
