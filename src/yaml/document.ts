/**
 * Reading and writing state file text with the yaml Document API, so comments,
 * key order, blank lines and quoting survive edits. JSON files go through the
 * same parser (JSON is YAML 1.2) and are written back as JSON.
 */
import { Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
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
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface StateDoc {
  /** Repo-relative path. */
  path: string;
  doc: Document;
  json: boolean;
  /** Whether flow collections in the source were written `{ a: 1 }` (padded). */
  flowPadding: boolean;
  /** The text the document was parsed from. */
  source: string;
  /** The unedited document as `serialize` renders it; taken before the first edit. */
  rendered?: string;
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

/** Parse a state file's text. Any parse error is fatal: the file is never rewritten. */
export function parseStateText(text: string, path: string): StateDoc {
  const json = isJsonPath(path);
  const doc = parseChecked(text, `${path}`, json ? 'JSON' : 'YAML');
  return { path, doc, json, flowPadding: /[[{] [^\s\]}]/.test(text), source: text };
}

/** Parse a value given as YAML text (CLI argument, batch line, MCP input). */
export function parseValueText(text: string, where = 'value'): unknown {
  if (Buffer.byteLength(text) > MAX_VALUE_BYTES) {
    throw new SizeError(`${where} is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_VALUE_BYTES} bytes`);
  }
  const doc = parseChecked(text, where, 'YAML');
  checkYamlNumbers(doc, text, where);
  return toPlain(doc, where);
}

function parseChecked(text: string, where: string, kind: 'YAML' | 'JSON'): Document {
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
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, version: '1.2', lineCounter: lines });
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
  toPlain(doc, where);
  return doc;
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
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      for (const [k, child] of Object.entries(v as object)) {
        if (k.includes('\0')) throw new YamlError(`${where} has a key containing a NUL byte`);
        stack.push(child);
      }
    }
  }
}

/** Serialize a document back to text: YAML with minimal reformatting, or JSON. */
export function serialize(state: StateDoc): string {
  if (state.json) {
    const value = state.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
    return `${JSON.stringify(value ?? {}, null, 2)}\n`;
  }
  if (state.doc.contents === null) return '';
  return state.doc.toString({ lineWidth: 0, flowCollectionPadding: state.flowPadding });
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
