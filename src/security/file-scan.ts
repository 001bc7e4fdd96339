/**
 * The secrets in a file's bytes: content rules over the raw text (comments,
 * keys, values and duplicate-looking keys alike), and for YAML and JSON files
 * the key-name rules over the parsed data, which also sees what the text
 * spells with escapes or `!!binary`. The parse is skipped when the text has
 * nothing a key-name rule or an escape could stand on, and no finding to
 * place at its key path (the common case).
 */
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import { getAt } from '../state/object-path.js';
import { STATE_EXTENSIONS } from '../base/paths.js';
import { STRUCTURE_HINT } from './rules.js';
import { isSensitiveKey, REDACTED, redactText, scanText, scanValue, type Finding } from './scan.js';

const lenient = new TextDecoder('utf-8');

export function isStateFile(path: string): boolean {
  return STATE_EXTENSIONS.some((ext) => path.endsWith(ext));
}

/** Every secret in `bytes`, the content of `path`; each secret once, with its line and, in data, its key path. */
export function scanFile(path: string, bytes: Uint8Array): Finding[] {
  const text = lenient.decode(bytes);
  const found = scanText(text);
  // parse when the data may hold more (a sensitive key, an escape), or to place what the text holds at its key path
  if (!isStateFile(path) || (found.length === 0 && !STRUCTURE_HINT.test(text) && !mayHaveSensitiveKey(text))) return found;
  let value: unknown;
  try {
    value = getValue(parseStateText(decodeText(bytes, path), path), []);
  } catch {
    return found; // unparseable: its parse error is reported by the content checks; the raw scan stands
  }
  const byId = new Map(found.map((f) => [f.id, f]));
  for (const f of scanValue(value)) {
    const raw = byId.get(f.id);
    if (raw) {
      // the same secret in the text and in the data: keep its line, and its key path for the allow-list
      raw.key ??= f.key;
      raw.segments ??= f.segments;
    } else {
      byId.set(f.id, f);
      found.push(f);
    }
  }
  return found;
}

/**
 * Could a key in this YAML or JSON text be sensitive? A key ends just before
 * its `:`, and whether it is sensitive depends only on its last words, so the
 * words before each `:` are enough (a `:` inside a value only makes this say
 * yes more often). Keys that are not spelled out before their `:` (explicit
 * `? ` keys, aliases, escapes) are caught by STRUCTURE_HINT.
 */
const KEY_START = new Set(['\n', '{', ',', '[', ':'].map((c) => c.charCodeAt(0)));

function mayHaveSensitiveKey(text: string): boolean {
  for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) {
    // back to the start of the key: a line break, a flow or JSON delimiter, at most 64 characters
    let start = at;
    while (start > 0 && at - start < 64 && !KEY_START.has(text.charCodeAt(start - 1))) start--;
    if (start < at && isSensitiveKey(text.slice(start, at))) return true;
  }
  return false;
}

/**
 * The secrets of a state file's text as the strings to hide where the text is
 * shown (history, diffs): each line of every value a finding names at a key
 * path, so a block scalar or a flow map's value goes too, which a line-by-line
 * redaction misses. Lines under 4 characters are left (they would hide too much).
 */
export function secretStrings(path: string, text: string | null): string[] {
  if (text === null || !isStateFile(path)) return [];
  const found = scanFile(path, Buffer.from(text)).filter((f) => f.segments);
  if (found.length === 0) return [];
  let value: unknown;
  try {
    value = getValue(parseStateText(text, path), []);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const f of found) {
    let at: unknown;
    try {
      at = getAt(value, f.segments!);
    } catch {
      continue; // a path the data does not have as a finding named it
    }
    if (typeof at !== 'string') continue;
    for (const line of at.split('\n')) if (line.trim().length >= 4) out.push(line.trim());
  }
  return out;
}

/** `shown` with every secret-looking part, and each of `secrets`, replaced by the marker. */
export function redactShown(shown: string, secrets: readonly string[]): string {
  let out = redactText(shown);
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
  return out;
}
