/**
 * Secrets that arrive by sync. Someone else's secret never blocks a sync: it
 * is reported (commit, file, rule — never the value), and a conflict record
 * that would hold it holds a redacted marker and the commit instead.
 *
 * `findSecrets` is the one place sync calls the secret scanner
 * (security/secrets.ts): point it at a richer API there when one exists.
 */
import type { Segment } from '../base/keypath.js';
import { findSecrets as findSecretHits, loadAllowList, scanFile } from '../security/secrets.js';
import { STATE_EXTENSIONS } from '../base/paths.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import type { GitStore } from '../git/store.js';

export interface SecretFinding {
  file: string;
  /** Key path, or "(text)" for a file that is not YAML or JSON. */
  key: string;
  rule: string;
}

/** A pulled secret: where it is and the commit that brought it. */
export interface ArrivedSecret extends SecretFinding {
  commit: string;
}

/** Every secret the guard finds in a value of `file` (at most `limit`), with the repository's allow-list applied. */
export async function findSecrets(dir: string, file: string, value: unknown, limit = 20): Promise<SecretFinding[]> {
  const allow = await loadAllowList(dir).catch(() => undefined);
  return findSecretHits(file, value, allow)
    .slice(0, limit)
    .map((hit) => ({ file, key: hit.key, rule: hit.rule }));
}

/** The secrets in a file's bytes (a state file parsed; anything else, its text as one value). */
export async function findSecretsInFile(dir: string, file: string, bytes: Uint8Array): Promise<SecretFinding[]> {
  // The file scanner parses only a text that may hold a secret, and finds at least what its data
  // holds: a pull's twenty changed files are then read without twenty parses.
  if (scanFile(file, bytes).length === 0) return [];
  let value: unknown;
  try {
    const text = decodeText(bytes, file);
    value = STATE_EXTENSIONS.some((ext) => file.endsWith(ext)) ? getValue(parseStateText(text, file), []) : text;
  } catch {
    return [];
  }
  const found = await findSecrets(dir, file, value);
  return typeof value === 'string' ? found.map((f) => ({ ...f, key: '(text)' })) : found;
}

/** The rule a value would fail at `segments` in `file`, or null: a conflict record must not hold it. */
export async function secretRuleAt(dir: string, file: string, segments: readonly Segment[], value: unknown): Promise<string | null> {
  let nested: unknown = value;
  for (const s of [...segments].reverse()) {
    if (s.kind === 'key') nested = { [s.name]: nested };
    else if (s.kind === 'select') nested = [{ [s.field]: s.value, ...(typeof nested === 'object' && nested !== null && !Array.isArray(nested) ? nested : { value: nested }) }];
    else nested = [nested];
  }
  const [hit] = await findSecrets(dir, file, nested, 1);
  return hit?.rule ?? null;
}

/** What a conflict record holds instead of a value that fails the guard. */
export function redactedValue(rule: string, commit: string): { redacted: string; commit: string } {
  return { redacted: `a value that looks like a secret (rule ${rule}); see it in commit ${commit}`, commit };
}

/**
 * The secrets that files changed by a pull hold and `before` did not: for each,
 * the commit on the incoming side that added it (walking that file's history
 * back from `tip` while the finding is still there).
 */
export async function arrivedSecrets(
  dir: string,
  store: GitStore,
  before: string | null,
  tip: string,
  changed: Record<string, string | null>,
  history: (path: string) => Promise<Iterable<string>>,
): Promise<ArrivedSecret[]> {
  const out: ArrivedSecret[] = [];
  for (const [path, blob] of Object.entries(changed)) {
    if (!blob) continue;
    const now = await findSecretsInFile(dir, path, await store.readBlob(blob));
    if (now.length === 0) continue;
    const oldBlob = await store.blobOidAt(before, path);
    const old = oldBlob ? await findSecretsInFile(dir, path, await store.readBlob(oldBlob)) : [];
    const had = new Set(old.map((f) => `${f.key}\0${f.rule}`));
    for (const finding of now.filter((f) => !had.has(`${f.key}\0${f.rule}`))) {
      let commit = tip;
      for (const c of await history(path)) {
        const b = await store.blobOidAt(c, path);
        const still = b ? (await findSecretsInFile(dir, path, await store.readBlob(b))).some((f) => f.key === finding.key && f.rule === finding.rule) : false;
        if (!still) break;
        commit = c;
      }
      out.push({ ...finding, commit });
    }
  }
  return out;
}
