/**
 * Finding secrets: in text (a file's bytes, a name, a message, an author), and
 * in data (every key and every value, at every depth). Synchronous and cheap:
 * this runs on every write and inside StateManager.set.
 *
 * A finding never carries the secret. It carries the rule, where it stands (a
 * line, a key path with any secret-looking segment redacted), a printable
 * `fingerprint` (the allow-list takes it), and an internal `id` that tells
 * "the same secret" apart when a commit is compared with its parents.
 */
import { createHash } from 'node:crypto';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { isPlaceholder, REDACTED, redactText } from './redact.js';

export { redactText, REDACTED } from './redact.js';
import {
  BASE64_PEM_SIGNATURES,
  CONTENT_RULES,
  GENERIC_LEAF_KEYS,
  SENSITIVE_PAIRS,
  SENSITIVE_WORDS,
  TIMESTAMP,
} from './rules.js';

export interface Finding {
  rule: string;
  /** Printable, never the value: 16 hex digits. The allow-list takes it as `fp:<hex>`. */
  fingerprint: string;
  /** Line of the text it was found on (1-based), for text findings. */
  line?: number;
  /** Key path it was found at (secret-looking segments redacted), for data findings. */
  key?: string;
  /** The key path as segments, for the allow-list. */
  segments?: readonly Segment[];
  /** Stable identity of the secret (a hash that includes it): equal ids mean the same secret. Never printed. */
  id: string;
}


function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** Every content-rule match in `text` (each secret once). */
export function scanText(text: string): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const add = (rule: string, secret: string, index: number) => {
    const id = hash('content', rule, secret);
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ rule, fingerprint: id.slice(0, 16), line: lineAt(text, index), id });
  };
  for (const rule of CONTENT_RULES) {
    if (rule.context && !rule.context.test(text)) continue;
    rule.pattern.lastIndex = 0;
    for (const match of text.matchAll(rule.pattern)) {
      const secret = match[1] ?? match[0];
      if (match[1] !== undefined && isPlaceholder(match[1])) continue;
      add(rule.id, secret, match.index ?? 0);
    }
  }
  for (const { decoded, index } of base64Pems(text)) {
    for (const f of scanText(decoded)) add(`${f.rule}-base64`, f.id, index);
  }
  return out;
}

/** Text as a one-line summary of what is in it, for names, messages and people (no lines). */
export function scanLine(text: string): Finding[] {
  if (text.length > SHORT_TEXT) return scanText(text).map(({ line: _line, ...f }) => f);
  let found = recentShortTexts.get(text);
  if (!found) {
    found = scanText(text).map(({ line: _line, ...f }) => f);
    if (recentShortTexts.size >= 4096) recentShortTexts.clear();
    recentShortTexts.set(text, found);
  }
  return found.slice();
}

/**
 * The findings of short texts (key names, most values) seen lately: every
 * StateManager set scans its key names, the same ones again and again, and the
 * rules cost ~10 µs per text. The findings depend on the text alone.
 */
const SHORT_TEXT = 256;
const recentShortTexts = new Map<string, Finding[]>();

/** Base64 runs that decode to a PEM block, located by the encoded "-----BEGIN" signatures. */
function base64Pems(text: string): Array<{ decoded: string; index: number }> {
  const out: Array<{ decoded: string; index: number }> = [];
  for (const signature of BASE64_PEM_SIGNATURES) {
    let at = text.indexOf(signature);
    while (at >= 0) {
      let start = at;
      while (start > 0 && isBase64Char(text.charCodeAt(start - 1), true)) start--;
      let end = at + signature.length;
      while (end < text.length && isBase64Char(text.charCodeAt(end), true)) end++;
      const run = text.slice(start, end).replace(/\s+/g, '');
      // the run may start mid-quantum (a prefix that is not base64 data): try each alignment
      for (let skip = 0; skip < 4; skip++) {
        const decoded = Buffer.from(run.slice(skip), 'base64').toString('latin1');
        if (decoded.includes('-----BEGIN')) {
          out.push({ decoded, index: at });
          break;
        }
      }
      at = text.indexOf(signature, end);
    }
  }
  return out;
}

function isBase64Char(code: number, allowSpace: boolean): boolean {
  return (
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    (code >= 48 && code <= 57) ||
    code === 43 ||
    code === 47 ||
    code === 61 ||
    (allowSpace && (code === 32 || code === 10 || code === 13 || code === 9))
  );
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

// ---- key names --------------------------------------------------------------

/** The words of a key in any casing style: `db_password`, `dbPassword`, `DB-PASSWORD`, `db.password`. */
export function keyWords(key: string): string[] {
  const words: string[] = [];
  for (const part of key.split(/[^A-Za-z0-9]+/)) {
    for (const word of part.match(/[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+/g) ?? []) words.push(word.toLowerCase());
  }
  return words;
}

/** Is a value under this key a secret by name? True when its last word is (`apiKey`, `db_password`; not `token_count`). */
export function isSensitiveKey(key: string): boolean {
  const words = keyWords(key);
  const last = words[words.length - 1];
  if (last === undefined) return false;
  if (SENSITIVE_WORDS.has(last)) return true;
  return words.length >= 2 && SENSITIVE_PAIRS.has(`${words[words.length - 2]} ${last}`);
}

/** Could this value be a secret because of its key? Booleans, timestamps, null, empty text and placeholders never are. */
function secretByName(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'bigint') return true;
  if (value instanceof Uint8Array) return value.byteLength > 0;
  if (typeof value !== 'string') return false; // boolean, null, Date, undefined
  const text = value.trim();
  return text !== '' && !TIMESTAMP.test(text) && !isPlaceholder(text);
}

// ---- data -------------------------------------------------------------------

/**
 * Every secret in a value: content rules on every key and every string (and
 * binary) value; key-name rules on every value under a sensitive key. Under a
 * sensitive key a map is checked leaf by leaf: a leaf is a secret by name when
 * its own key is sensitive or generic (`value`, `key`, `data`); list items
 * take the key of their list.
 */
export function scanValue(value: unknown, base: readonly Segment[] = []): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Finding) => {
    if (seen.has(f.id)) return;
    seen.add(f.id);
    out.push(f);
  };
  // [node, path, sensitive: the nearest key is sensitive, underSensitive: some key above is]
  const stack: Array<[unknown, Segment[], boolean, boolean]> = [[value, [...base], false, false]];
  while (stack.length > 0) {
    const [node, path, sensitive, under] = stack.pop()!;
    if (node !== null && typeof node === 'object' && !(node instanceof Date) && !(node instanceof Uint8Array)) {
      if (Array.isArray(node)) {
        node.forEach((item, index) => stack.push([item, [...path, { kind: 'index', index }], sensitive, under]));
        continue;
      }
      for (const [name, child] of entries(node)) {
        for (const f of scanLine(name)) add({ ...f, key: where([...path, { kind: 'key', name }]), segments: [...path, { kind: 'key', name }] });
        const own = isSensitiveKey(name);
        const leafSensitive = own || ((sensitive || under) && GENERIC_LEAF_KEYS.has(name.toLowerCase()));
        stack.push([child, [...path, { kind: 'key', name }], leafSensitive, under || sensitive || own]);
      }
      continue;
    }
    const text = typeof node === 'string' ? node : node instanceof Uint8Array ? Buffer.from(node).toString('latin1') : null;
    const content = text === null ? [] : scanLine(text);
    for (const f of content) add({ ...f, key: where(path), segments: path });
    // a value a content rule already names needs no second finding by its key
    if (sensitive && content.length === 0 && secretByName(node)) {
      const key = formatKeyPath(path);
      const id = hash('key-name', key, typeof node, text ?? String(node));
      add({ rule: 'sensitive-key', fingerprint: hash('key-name', key).slice(0, 16), key: where(path), segments: path, id });
    }
  }
  return out;
}

/** Own entries of a map, `__proto__` included (a JSON-parsed object may hold it as an own key). */
function entries(node: object): Array<[string, unknown]> {
  return Object.keys(node).map((k) => [k, (node as Record<string, unknown>)[k]]);
}

/** A key path for messages: segments that look like secrets are redacted. */
export function where(path: readonly Segment[]): string {
  return formatKeyPath(redactSegments(path)) || '(top level)';
}

/** Key path segments to show: one that looks like a secret (a key named by a token) is the marker. */
export function redactSegments(path: readonly Segment[]): Segment[] {
  return path.map((s): Segment => {
    if (s.kind === 'key' && scanLine(s.name).length > 0) return { kind: 'key', name: REDACTED };
    if (s.kind === 'select' && scanLine(`${s.field}=${s.value}`).length > 0) return { kind: 'key', name: REDACTED };
    return s;
  });
}


/**
 * A value about to be shown (history, diffs): strings redacted, and a string
 * under a sensitive key name (`password`, `api_key`) replaced whole; maps and
 * lists through. What the scanner would refuse to commit is never printed.
 */
export function redactValue(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && value !== '' && !isPlaceholder(value) && isSensitiveKey(key) ? REDACTED : redactText(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k), redactValue(v, k)]));
  }
  return value;
}

/** A line of a YAML or JSON text diff, redacted: its secrets, and the value of a `key: value` line whose key is sensitive. */
export function redactDiffLine(line: string): string {
  const pair = /^([+\- ]\s*(?:- )?)("?)([^":#\n]+)\2(\s*:\s+)(.+?)(,?)$/.exec(line);
  if (pair && isSensitiveKey(pair[3]!.trim()) && !isPlaceholder(pair[5]!.replace(/^["']|["']$/g, ''))) return `${pair[1]}${pair[2]}${pair[3]}${pair[2]}${pair[4]}${REDACTED}${pair[6]}`;
  return redactText(line);
}
