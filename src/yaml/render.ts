/**
 * Rendering new values (never existing ones: those keep their bytes) in a
 * file's style. YAML goes through the yaml library's stringifier, with three
 * corrections so that PyYAML reads what gitstate meant: strings a YAML 1.1
 * reader would retype are quoted, strings holding characters PyYAML reads
 * differently are double-quoted with escapes, and exponent numbers get a
 * fractional part. JSON is rendered here, in the file's indent and separators.
 */
import { createRequire } from 'node:module';
import { Document, isCollection, isMap, isScalar, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Node } from 'yaml';
import { OperationError } from '../errors.js';
import type { Style } from './style.js';
import { doubleQuoted, needsEscape, numberText, retypedByYaml11 } from './yaml11.js';

const require = createRequire(import.meta.url);
/** node:crypto, loaded when a first node is rendered: a read renders none, and loading it costs a CLI call ~2 ms. */
const randomBytes = (size: number): Buffer => (require('node:crypto') as typeof import('node:crypto')).randomBytes(size);

// PyYAML's scanner ends a plain scalar at a tab and then fails on it; yaml 1.2 allows it.
const PYYAML_UNSAFE_PLAIN = /\t/;

/** A new node ready to stringify; `finish` puts back the texts the stringifier could not be trusted with. */
export interface Prepared {
  doc: Document;
  finish(text: string): string;
}

/** A workspace for new nodes: `node()` builds prepared nodes, `finish()` fixes up the stringified text. */
export function preparer(style: Style): Prepared & { node(value: unknown, flow: boolean, flowContext?: boolean): Node } {
  const doc = new Document(null, { version: '1.2' });
  const nonce = `gsq${randomBytes(6).toString('hex')}`;
  const marks = new Map<string, string>();
  const mark = (s: Scalar, text: string) => {
    const token = `${nonce}x${marks.size}`;
    marks.set(token, text);
    s.value = token;
    s.type = 'PLAIN';
  };
  const scalar = (s: Scalar, flowContext: boolean) => {
    if (typeof s.value === 'string') {
      // In a flow collection a line break would spread it over several lines: escape it instead.
      if (needsEscape(s.value) || (flowContext && /[\n\r]/.test(s.value))) mark(s, doubleQuoted(s.value));
      else if (retypedByYaml11(s.value) || PYYAML_UNSAFE_PLAIN.test(s.value) || (flowContext && /[?,[\]{}#:]/.test(s.value))) s.type = style.quote;
    } else if (typeof s.value === 'number') {
      const text = numberText(s.value);
      if (text !== null && text !== String(s.value)) mark(s, text);
    }
  };
  return {
    doc,
    node(value, flow, flowContext = false) {
      const node = doc.createNode(value, { aliasDuplicateObjects: false }) as Node;
      const walk = (n: unknown, inFlow: boolean): void => {
        if (isScalar(n)) scalar(n, inFlow);
        else if (isCollection(n)) {
          if (flow) n.flow = true;
          const childFlow = inFlow || Boolean(n.flow);
          for (const item of n.items) {
            if (isMap(n)) {
              const pair = item as { key: unknown; value: unknown };
              walk(pair.key, childFlow);
              walk(pair.value, childFlow);
            } else walk(item, childFlow);
          }
        }
      };
      walk(node, flowContext || (flow && isCollection(node)));
      return node;
    },
    finish(text) {
      let out = text;
      for (const [token, replacement] of marks) {
        if (!out.includes(token)) throw new Error(`render: lost a scalar placeholder`);
        out = out.replace(token, () => replacement);
      }
      return out;
    },
  };
}

export function stringifyOptions(style: Style) {
  return { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0, minContentWidth: 0, flowCollectionPadding: style.flowPadding };
}

function stringify(p: Prepared, node: Node, style: Style): string {
  p.doc.contents = node;
  return p.finish(p.doc.toString(stringifyOptions(style))).replace(/\n$/, '');
}

/** Whether `value` is placed on lines of its own (a non-empty collection in block style). */
export function isBlockValue(value: unknown, flow: boolean): boolean {
  if (flow || value === null || typeof value !== 'object') return false;
  return Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0;
}

/**
 * `value` as block YAML, as lines at column 0 (a non-empty collection spans
 * several; nested levels follow the style's indent and list indentation).
 * With `flow`, collections inside are written in flow style.
 */
export function blockLines(value: unknown, style: Style, flow: boolean): string[] {
  if (!isBlockValue(value, flow)) return blockScalarLines(value, style);
  const seqOffset = style.indentSeq ? style.indent : 0;
  if (Array.isArray(value)) return value.flatMap((item) => itemLines(item, style, flow));
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => entryLines(key, item, style, flow, seqOffset));
}

/** The lines of a block map entry `key: value`. */
export function entryLines(key: string, value: unknown, style: Style, flow: boolean, seqOffset = style.indentSeq ? style.indent : 0): string[] {
  const head = `${keyText(key, style)}:`;
  if (isBlockValue(value, flow)) {
    const offset = Array.isArray(value) ? seqOffset : style.indent;
    return [head, ...blockLines(value, style, flow).map((l) => (l === '' ? l : ' '.repeat(offset) + l))];
  }
  const [first, ...rest] = blockScalarLines(value, style);
  return [`${head} ${first}`, ...rest];
}

/** The lines of a block list item `- value`: the value's first line on the dash's line (compact form). */
export function itemLines(value: unknown, style: Style, flow: boolean): string[] {
  const block = isBlockValue(value, flow);
  const inner = block ? blockLines(value, style, flow) : blockScalarLines(value, style);
  // a map or list item sits as far from its dash as the file's others do (a scalar: one space, as PyYAML writes it)
  const gap = block ? Math.max(2, style.itemGap) : 2;
  return [`-${' '.repeat(gap - 1)}${inner[0]}`, ...inner.slice(1).map((l) => (l === '' ? l : `${' '.repeat(gap)}${l}`))];
}

/** A scalar (or flow collection) in block context: one line, or a block scalar's header and content lines. */
function blockScalarLines(value: unknown, style: Style): string[] {
  if (typeof value === 'string' && value.includes('\n') && !needsEscape(value)) {
    const lines = blockScalar(value, 'BLOCK_LITERAL', style);
    if (lines) return lines;
  }
  return [inlineText(value, style)];
}

/**
 * A multi-line string as a block scalar: its header, then content lines
 * indented one level (relative to the line the header ends). Null when the
 * stringifier would not write it so (it then falls back to quotes).
 */
function blockScalar(value: string, type: 'BLOCK_LITERAL' | 'BLOCK_FOLDED', style: Style): string[] | null {
  const p = preparer(style);
  const map = new YAMLMap();
  const node = p.node(value, false) as Scalar;
  node.type = type;
  map.add(p.doc.createPair('k', node));
  const lines = stringify(p, map as Node, style).split('\n');
  if (!/^k: [|>]/.test(lines[0]!)) return null;
  return [lines[0]!.slice(3), ...lines.slice(1)];
}

function keyText(key: string, style: Style): string {
  const text = inlineText(key, style);
  return text.length > 1000 ? doubleQuoted(key) : text;
}

/**
 * `value` on one line, where a scalar or flow collection stood. `oldType` keeps
 * the quoting of the string it replaces; `flowContext`: it goes inside a flow collection.
 */
export function inlineText(value: unknown, style: Style, options: { flowContext?: boolean; oldType?: Scalar['type'] } = {}): string {
  if (typeof value === 'string' && /[\n\r]/.test(value)) return doubleQuoted(value);
  const p = preparer(style);
  const node = p.node(value, true, options.flowContext);
  if (isScalar(node) && typeof value === 'string' && !needsEscape(value) && (options.oldType === 'QUOTE_SINGLE' || options.oldType === 'QUOTE_DOUBLE')) {
    node.type = options.oldType;
  }
  if (!options.flowContext || isCollection(node)) return oneLine(stringify(p, node, style), value);
  // A scalar inside a flow collection follows flow rules (no plain `,` or `[`): render it in one.
  const seq = new YAMLSeq();
  seq.flow = true;
  seq.items.push(node);
  const text = stringify(p, seq as Node, style).trim();
  return oneLine(text.slice(1, -1).trim(), value);
}

/** A flow map entry `key: value`. */
export function flowEntryText(key: string, value: unknown, style: Style): string {
  const p = preparer(style);
  const map = new YAMLMap();
  map.flow = true;
  map.add(p.doc.createPair(p.node(key, true, true), p.node(value, true, true)));
  const text = stringify(p, map as Node, style).trim();
  return oneLine(text.slice(1, -1).trim(), value);
}

/** A multi-line string as a block scalar of the same kind as the one it replaces; content lines get `prefix` too. */
export function blockScalarText(value: string, type: 'BLOCK_LITERAL' | 'BLOCK_FOLDED', style: Style, prefix: string): string {
  const lines = needsEscape(value) ? null : blockScalar(value, type, style);
  if (!lines) return doubleQuoted(value);
  return lines.map((line, i) => (i === 0 || line === '' ? line : prefix + line)).join(style.eol);
}

function oneLine(text: string, value: unknown): string {
  if (text.includes('\n')) {
    if (typeof value === 'string') return doubleQuoted(value);
    throw new Error('render: a flow value took more than one line');
  }
  return text;
}

/** Indent every line but the first by `prefix` (blank lines stay empty), joined with the file's line ending. */
export function indentLines(lines: readonly string[], prefix: string, eol: string, first = false): string {
  return lines.map((line, i) => (line === '' || (i === 0 && !first) ? line : prefix + line)).join(eol);
}

/**
 * `value` as JSON in the file's style; nested lines start with `prefix` (the
 * indentation of the line the value starts on).
 */
export function jsonText(value: unknown, style: Style, prefix: string, where: string): string {
  const { unit, itemSep, keySep } = style.json;
  const render = (v: unknown, at: string): string => {
    if (v === null) return 'null';
    if (typeof v === 'number') {
      const text = Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : JSON.stringify(v)) : null;
      if (text === null) throw new OperationError(`JSON cannot hold ${v} (in ${where})`);
      return text;
    }
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    if (v instanceof Date) return JSON.stringify(v.toISOString());
    if (typeof v !== 'object') throw new OperationError(`JSON cannot hold a ${typeof v} (in ${where})`);
    const array = Array.isArray(v);
    const parts = array ? v.map((item) => (inner: string) => render(item, inner)) : Object.entries(v).map(([k, item]) => (inner: string) => `${JSON.stringify(k)}${keySep}${render(item, inner)}`);
    const [open, close] = array ? ['[', ']'] : ['{', '}'];
    if (parts.length === 0) return open + close;
    if (unit === null) return open + parts.map((part) => part(at)).join(itemSep) + close;
    const inner = at + unit;
    return `${open}${style.eol}${parts.map((part) => inner + part(inner)).join(`,${style.eol}`)}${style.eol}${at}${close}`;
  };
  return render(value, prefix);
}

