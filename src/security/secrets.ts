/**
 * The secret guard: values that look like credentials never reach a commit.
 * Runs on every content before it is committed (writes, batches, state.json
 * flushes, and whatever later commits content: merges, rollbacks). A hit names
 * the file, the key path and the rule — never the value.
 *
 * False positives go in `.gitstate/secrets-allow.yaml`, a map of file -> key
 * paths the guard lets through (`*` stands for one key or index):
 *
 *     knowledge.yaml:
 *       - docs.token_format
 *       - examples[*].password
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SecretError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';

export const ALLOW_FILE = '.gitstate/secrets-allow.yaml';

/** Patterns of credential values, whatever key they sit under. */
const VALUE_RULES: ReadonlyArray<[name: string, pattern: RegExp]> = [
  ['private-key', /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/],
  ['github-token', /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/],
  ['gitlab-token', /\bgl(?:pat|dt|rt|cbt|ptt|ft|imt|agent|oas)-[A-Za-z0-9_-]{20,}/],
  ['aws-access-key', /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/],
  ['slack-token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ['slack-webhook', /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/],
  ['jwt', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
];

/** Keys whose non-empty values are secrets by name. */
const SECRET_KEY = /(?:^|[_\-.])(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)(?:$|[_\-.])/i;
/** Values under such keys that are clearly not secrets: references and placeholders. */
const PLACEHOLDER = /^(?:\$\{[^}]+\}|\$[A-Z_][A-Z0-9_]*|<[^>]*>|\*+|x+|redacted|changeme|none|null|todo|env:[\w-]+)$/i;

export interface SecretHit {
  file: string;
  key: string;
  rule: string;
}

/** Find the first value in `value` that looks like a secret and is not allowed. */
export function findSecret(file: string, value: unknown, allow: AllowList = emptyAllowList): SecretHit | null {
  const stack: Array<[unknown, Segment[]]> = [[value, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      const rule = ruleFor(node, path);
      if (rule) {
        const key = formatKeyPath(path) || '(top level)';
        if (!allow.allows(file, path)) return { file, key, rule };
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => stack.push([item, [...path, { kind: 'index', index }]]));
    } else if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
      for (const [name, child] of Object.entries(node)) stack.push([child, [...path, { kind: 'key', name }]]);
    }
  }
  return null;
}

function ruleFor(text: string, path: Segment[]): string | null {
  for (const [name, pattern] of VALUE_RULES) if (pattern.test(text)) return name;
  const last = [...path].reverse().find((s): s is Extract<Segment, { kind: 'key' }> => s.kind === 'key');
  if (last && SECRET_KEY.test(last.name) && text.trim() !== '' && !PLACEHOLDER.test(text.trim())) {
    return `key-name "${last.name}"`;
  }
  return null;
}

/** Throw a SecretError for the first secret in the content; the value is never part of the message. */
export function assertNoSecrets(file: string, value: unknown, allow?: AllowList): void {
  const hit = findSecret(file, value, allow);
  if (hit) {
    throw new SecretError(
      `${hit.file}: ${hit.key}: looks like a secret (rule ${hit.rule}); secrets are never committed (false positive? allow the key path in ${ALLOW_FILE})`,
      { file: hit.file, key: hit.key, rule: hit.rule },
    );
  }
}

/** Scan raw text (content that cannot be parsed) for credential patterns. */
export function assertNoSecretText(file: string, text: string): void {
  for (const [name, pattern] of VALUE_RULES) {
    if (pattern.test(text)) throw new SecretError(`${file}: looks like it contains a secret (rule ${name}); secrets are never committed`, { file, rule: name });
  }
}

export interface AllowList {
  allows(file: string, path: readonly Segment[]): boolean;
}

const emptyAllowList: AllowList = { allows: () => false };

/** Build an allow-list from the parsed `.gitstate/secrets-allow.yaml`. */
export function compileAllowList(spec: unknown): AllowList {
  if (spec === null || spec === undefined) return emptyAllowList;
  if (typeof spec !== 'object' || Array.isArray(spec)) throw new SecretError(`${ALLOW_FILE} must be a map of file -> list of key paths`);
  const rules = new Map<string, RegExp[]>();
  for (const [file, keys] of Object.entries(spec)) {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new SecretError(`${ALLOW_FILE}: ${file} must list key paths`);
    }
    const name = /\.(ya?ml|json)$/.test(file) ? file : `${file}.yaml`;
    rules.set(name, (keys as string[]).map(patternToRegExp));
  }
  return {
    allows(file, path) {
      const patterns = rules.get(file);
      if (!patterns) return false;
      const key = formatKeyPath(path);
      return patterns.some((p) => p.test(key));
    },
  };
}

function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^.[\\]]+');
  return new RegExp(`^${body}$`);
}

const allowCache = new Map<string, { stamp: string; list: AllowList }>();

/** The allow-list of a state repo, read from its work tree (missing file: nothing allowed); re-read when it changes. */
export async function loadAllowList(root: string): Promise<AllowList> {
  const path = join(root, ALLOW_FILE);
  let stamp: string;
  try {
    const s = statSync(path); // checked on every write: a sync stat costs microseconds
    stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return emptyAllowList;
  }
  const hit = allowCache.get(path);
  if (hit?.stamp === stamp) return hit.list;
  const list = compileAllowList(parse(await readFile(path, 'utf8')));
  allowCache.set(path, { stamp, list });
  return list;
}
