/**
 * The secret guard's API for the rest of gitstate (and library users).
 *
 * Commits are guarded as a whole by guard.ts (a commit may not add a secret
 * its parents did not hold). These are the pieces other features build on:
 *  - `findSecrets` / `findSecret`: the secrets in a value (every key and value),
 *    e.g. for a conflict record that must not store one, or StateManager.set;
 *  - `assertNoSecrets`: the same, thrown as a SecretError that names the file,
 *    key path and rule, never the value;
 *  - `scanFile`: the secrets in a file's bytes (raw text and data);
 *  - `redactText`: a name or message with its secret-looking parts replaced.
 * See rules.ts for what is looked for, allow.ts for the allow-list.
 */
import { SecretError } from '../errors.js';
import type { Segment } from '../base/keypath.js';
import { ALLOW_FILE, emptyAllowList, type AllowList } from './allow.js';
import { scanValue, type Finding } from './scan.js';

export { ALLOW_FILE, compileAllowList, loadAllowList, parseAllowList, type AllowList } from './allow.js';
export { redactShown, scanFile, secretStrings } from './file-scan.js';
export { isSensitiveKey, redactDiffLine, redactSegments, redactText, redactValue, scanText, REDACTED, type Finding } from './scan.js';

export interface SecretHit {
  file: string;
  /** Key path (secret-looking segments redacted), or "(top level)". */
  key: string;
  rule: string;
  fingerprint: string;
}

/** Every secret in `value` (the content of `file`, or the value at `at` in it) that the allow-list does not let through. */
export function findSecrets(file: string, value: unknown, allow: AllowList = emptyAllowList, at: readonly Segment[] = []): SecretHit[] {
  return scanValue(value, at)
    .filter((f) => !allow.allowsFinding(file, f))
    .map((f) => hit(file, f));
}

/** The first secret in `value`, or null. */
export function findSecret(file: string, value: unknown, allow: AllowList = emptyAllowList, at: readonly Segment[] = []): SecretHit | null {
  return findSecrets(file, value, allow, at)[0] ?? null;
}

/** Throw a SecretError for the first secret in `value`; the value is never part of the message. */
export function assertNoSecrets(file: string, value: unknown, allow?: AllowList, at: readonly Segment[] = []): void {
  const found = findSecrets(file, value, allow, at);
  const first = found[0];
  if (!first) return;
  const more = found.length > 1 ? ` and ${found.length - 1} more` : '';
  throw new SecretError(
    `${first.file}: ${first.key}: looks like a secret (rule ${first.rule}, fingerprint fp:${first.fingerprint})${more}; secrets are never committed (false positive? allow the key path or the fingerprint in ${ALLOW_FILE})`,
    { ...first },
  );
}

function hit(file: string, f: Finding): SecretHit {
  return { file, key: f.key ?? '(top level)', rule: f.rule, fingerprint: f.fingerprint };
}
