/** How a secret already in the repository is reported: never its value. */
import { redactText } from './redact.js';

export interface SecretReport {
  file: string;
  /** A line, a key path, or "file name". */
  where: string;
  rule: string;
  fingerprint: string;
  /** The commit that added it (null when history does not say: a shallow clone). */
  commit: string | null;
}

/** One line for a secret that is already there, for CLI warnings and status. */
export function describeReport(r: SecretReport): string {
  const from = r.commit ? `added by commit ${r.commit.slice(0, 12)}` : 'added by a commit this clone does not have';
  return `${redactText(r.file)}: ${r.where}: holds a secret (rule ${r.rule}, fingerprint fp:${r.fingerprint}), ${from}; it was already committed, so it is kept: remove it with a write, and rotate it`;
}
