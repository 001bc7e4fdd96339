/**
 * Reading state file text: decoding, limits, and parsing with the yaml
 * Document API (JSON files too: JSON is YAML 1.2). A StateDoc is a file's text
 * as edits change it (edit.ts), with the data it must read back as.
 */
import { Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Style } from './style.js';
import type { Node } from 'yaml';
import { SizeError, YamlError } from '../errors.js';
import { isJsonPath, printable } from '../base/paths.js';
import { checkYamlNumbers } from '../security/values.js';
import { redactText } from '../security/redact.js';

/** Largest state file we read or write. The yaml parser is quadratic in keys per map. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Largest single value accepted on the command line, in a batch line or over MCP. */
export const MAX_VALUE_BYTES = 256 * 1024;
/** Deepest nesting of maps and lists in a file or a value. */
export const MAX_DEPTH = 64;
/** Aliases a document may expand while being read (stops "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

const CONTROL_CHAR = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface StateDoc {
  /** Repo-relative path. */
  readonly path: string;
  readonly json: boolean;
  /** The file's text with this state's edits so far. */
  text: string;
  /** The data `text` must read back as: the file's data with the same edits applied to plain values. */
  value: unknown;
  /** `text` parsed, with node ranges and CST tokens; dropped by an edit, parsed again when needed. */
  parsed?: Document;
  /** The layout detected in the text as first read. */
  style?: Style;
  /** Edits the splicer could not place, rendered with the whole document instead (tests count them). */
  rerendered: number;
}

/** Decode file bytes, refusing invalid UTF-8 and oversize files. */
export function decodeText(bytes: Uint8Array, where: string): string {
  if (bytes.byteLength > MAX_FILE_BYTES) {
    throw new SizeError(`${where} is ${bytes.byteLength} bytes; the limit is ${MAX_FILE_BYTES} bytes`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new YamlError(`${where} is not valid UTF-8`);
  }
}

/**
 * A state file's bytes as the text an edit starts from: decoded as `decodeText`
 * does, with a leading byte order mark kept (the decoder drops it), so the
 * edited file keeps it too: every byte an edit does not touch stays.
 */
export function decodeForEdit(bytes: Uint8Array, where: string): string {
  const text = decodeText(bytes, where);
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\ufeff${text}` : text;
}

/** Parse a state file's text (`where` names it in errors). Any parse error is fatal: the file is never rewritten. */
export function parseStateText(text: string, path: string, where = path): StateDoc {
  const { doc, value } = readStateText(text, path, where);
  return { path, json: isJsonPath(path), text, value, parsed: doc, rerendered: 0 };
}

/** A state file's text as a Document (with source tokens) and its plain value. */
export function readStateText(text: string, path: string, where = path): { doc: Document; value: unknown } {
  return parseChecked(text, where, isJsonPath(path) ? 'JSON' : 'YAML', true);
}


/** Parse a value given as YAML text (CLI argument, batch line, MCP input). */
export function parseValueText(text: string, where = 'value'): unknown {
  if (Buffer.byteLength(text) > MAX_VALUE_BYTES) {
    throw new SizeError(`${where} is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_VALUE_BYTES} bytes`);
  }
  const { doc, value } = parseChecked(text, where, 'YAML', false);
  checkYamlNumbers(doc, text, where);
  return value;
}

function parseChecked(text: string, where: string, kind: 'YAML' | 'JSON', keepSourceTokens: boolean): { doc: Document; value: unknown } {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    throw new SizeError(`${where} is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_FILE_BYTES} bytes`);
  }
  const control = CONTROL_CHAR.exec(text);
  if (control) {
    const line = text.slice(0, control.index).split('\n').length;
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase();
    throw new YamlError(`invalid ${kind} in ${where} at line ${line}: control character U+${code}`);
  }
  let doc: Document;
  const lines = new LineCounter();
  try {
    // yaml's own uniqueKeys check is quadratic in the keys of a map; ours below is linear.
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, version: '1.2', lineCounter: lines, keepSourceTokens });
  } catch (err) {
    if (err instanceof RangeError) throw new YamlError(`invalid ${kind} in ${where}: nested too deeply`);
    throw err;
  }
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    let reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    // said in the file's terms, not the library's (its text names its own API)
    if (error.code === 'MULTIPLE_DOCS') reason = 'a second document starts here (a "---" line); a state file holds one document';
    if (/call stack/i.test(reason)) reason = 'nested too deeply';
    reason = redactText(reason); // a message may quote a token (a tag, a scalar)
    throw new YamlError(`invalid ${kind} in ${where}${at}: ${reason}`);
  }
  const duplicate = findDuplicateKey(doc);
  if (duplicate) {
    const pos = duplicate.offset === undefined ? null : lines.linePos(duplicate.offset);
    const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    throw new YamlError(`invalid ${kind} in ${where}${at}: duplicate key "${printable(duplicate.key)}"`);
  }
  // Reading the whole document once checks alias expansion and depth.
  return { doc, value: toPlain(doc, where) };
}

/** The first key that appears twice in one map, in linear time. */
function findDuplicateKey(doc: Document): { key: string; offset?: number } | null {
  let found: { key: string; offset?: number } | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        if (seen.has(key)) {
          found = { key: String(key), offset: isNode(pair.key) ? pair.key.range?.[0] : undefined };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/** The document (or a node of it) as plain JS, with the alias and depth limits enforced. */
export function toPlain(doc: Document, where: string, node?: unknown): unknown {
  let value: unknown;
  try {
    value =
      node === undefined
        ? doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
        : isNode(node)
          ? (node as Node).toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT })
          : node;
  } catch (err) {
    if (err instanceof RangeError) throw new YamlError(`invalid YAML in ${where}: nested too deeply`);
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message)) throw new YamlError(`invalid YAML in ${where}: too many alias expansions (limit ${MAX_ALIAS_COUNT})`);
    throw new YamlError(`invalid YAML in ${where}: ${message.split('\n')[0]}`);
  }
  checkDepth(value, where);
  return value;
}

/** Refuse values nested deeper than MAX_DEPTH (iterative, so a deep value cannot overflow the stack). */
export function checkDepth(value: unknown, where: string): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || v instanceof Date) continue;
    if (depth >= MAX_DEPTH) throw new YamlError(`${where} is nested deeper than ${MAX_DEPTH} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push([child, depth + 1]);
  }
}

/** Refuse NUL bytes and other control characters inside string values. */
export function checkStrings(value: unknown, where: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\0')) throw new YamlError(`${where} contains a NUL byte`);
      if (LONE_SURROGATE.test(v)) throw new YamlError(`${where} contains a lone UTF-16 surrogate, which UTF-8 cannot hold`);
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      for (const [k, child] of Object.entries(v as object)) {
        if (k.includes('\0')) throw new YamlError(`${where} has a key containing a NUL byte`);
        stack.push(child);
      }
    }
  }
}

/** A short description of a node's kind, for error messages. */
export function kindOf(node: unknown): string {
  if (node === undefined) return 'missing';
  if (node === null) return 'null';
  if (isAlias(node)) return 'an alias';
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a map';
  if (isScalar(node)) return node.value === null ? 'null' : `a ${typeof node.value}`;
  return 'a value';
}
