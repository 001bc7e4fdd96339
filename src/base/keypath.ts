/**
 * Key paths: `a.b`, `list[0]`, `list.0`, `list[-1]`, `["key.with.dots"]` and
 * selection by field, `active_issues[key=AAP-12345].status`.
 *
 * Parsing is pure; resolving a parsed path against a document happens in
 * yaml/edit.ts, where the nodes are.
 */
import { KeyPathError } from '../errors.js';
import { printable } from './paths.js';

export type Segment =
  /** A map key, or a list index when the node is a list and the name is a number. */
  | { kind: 'key'; name: string }
  /** `[N]`: a list index (negative counts from the end). */
  | { kind: 'index'; index: number }
  /** `[field=value]`: the one list item whose `field` equals `value`. */
  | { kind: 'select'; field: string; value: string };

const MAX_KEY_PATH = 1024;
const NAME = /^[^.[\]\s]+$/;

export function parseKeyPath(input: string): Segment[] {
  if (typeof input !== 'string') throw new KeyPathError('key path must be a string');
  if (input.length > MAX_KEY_PATH) throw new KeyPathError(`key path is longer than ${MAX_KEY_PATH} characters`);
  if (/[\0-\x1f\x7f]/.test(input)) throw new KeyPathError(`key path "${printable(input)}" contains a control character`);
  const segments: Segment[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new KeyPathError(`invalid key path "${printable(input)}": ${why} at position ${i + 1}`);
  };
  if (input.length === 0) fail('empty');
  while (i < input.length) {
    if (input[i] === '[') {
      const close = findClose(input, i);
      if (close < 0) fail('unclosed "["');
      segments.push(parseBracket(input.slice(i + 1, close), fail));
      i = close + 1;
    } else {
      let end = i;
      while (end < input.length && input[end] !== '.' && input[end] !== '[') end++;
      const name = input.slice(i, end);
      if (!NAME.test(name)) fail(name.length === 0 ? 'empty segment' : `bad segment "${name}"`);
      segments.push({ kind: 'key', name });
      i = end;
    }
    if (i < input.length) {
      if (input[i] === '.') {
        i++;
        if (i === input.length) fail('trailing "."');
      } else if (input[i] !== '[') {
        fail(`unexpected "${input[i]}"`);
      }
    }
  }
  return segments;
}

/** Index of the `]` closing the bracket opened at `open`, honouring quotes. */
function findClose(input: string, open: number): number {
  let quote: string | null = null;
  for (let j = open + 1; j < input.length; j++) {
    const c = input[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ']') {
      return j;
    }
  }
  return -1;
}

function parseBracket(body: string, fail: (why: string) => never): Segment {
  if (/^-?\d+$/.test(body)) return { kind: 'index', index: Number(body) };
  const quoted = unquote(body);
  if (quoted !== null) return { kind: 'key', name: quoted };
  const eq = body.indexOf('=');
  if (eq > 0) {
    const field = body.slice(0, eq).trim();
    const raw = body.slice(eq + 1).trim();
    const value = unquote(raw) ?? raw;
    if (!NAME.test(field)) fail(`bad field name "${field}" in selector`);
    if (value.length === 0) fail(`empty value in selector [${body}]`);
    return { kind: 'select', field, value };
  }
  return fail(`"[${body}]" is neither an index, a quoted key nor a field=value selector`);
}

function unquote(s: string): string | null {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) {
    if (s[0] === '"') {
      try {
        return JSON.parse(s) as string;
      } catch {
        return null;
      }
    }
    return s.slice(1, -1).replace(/''/g, "'");
  }
  return null;
}

/** The canonical spelling of a key path, for messages and commit trailers. */
export function formatKeyPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (s.kind === 'index') out += `[${s.index}]`;
    else if (s.kind === 'select') out += `[${s.field}=${s.value}]`;
    else if (NAME.test(s.name)) out += out ? `.${s.name}` : s.name;
    else out += `[${JSON.stringify(s.name)}]`;
  }
  return out;
}
