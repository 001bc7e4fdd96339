/**
 * Source-preserving edits: each operation becomes patches of the original
 * text at the edited node only, found through the node ranges and CST tokens
 * the yaml library keeps. New entries and items are placed in the surrounding
 * block's layout (its column, its list indentation, flow or block); every other
 * byte stays as it was. A layout this module does not handle throws
 * Unsupported, and the caller renders the document instead.
 */
import { isCollection, isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { blockLines, blockScalarText, entryLines, flowEntryText, indentLines, inlineText, isBlockValue, itemLines, jsonText } from './render.js';
import type { Style } from './style.js';
import { mapColumn } from './style.js';
import { atLineStart, columnOf, explicitKey, firstOnLine, lineStart, linePrefix, nextLineStart, pairColonEnd, seqDash } from './text.js';

export interface Patch {
  start: number;
  end: number;
  text: string;
}

/** Where a node stands: the document's root, a map entry's value, or a list item. */
export type Slot =
  | { kind: 'root'; node: Node | null }
  | { kind: 'pair'; map: YAMLMap; pair: Pair; node: Node | null; parent: Slot }
  | { kind: 'item'; seq: YAMLSeq; index: number; node: Node | null; parent: Slot };

export interface SpliceContext {
  text: string;
  doc: Document;
  style: Style;
  json: boolean;
  /** For messages. */
  path: string;
}

/** A layout the splicer leaves to the renderer. */
export class Unsupported extends Error {}

const pad = (n: number) => ' '.repeat(n);

// ---- replacing a value -------------------------------------------------------

export function replaceSlot(ctx: SpliceContext, slot: Slot, value: unknown): Patch[] {
  if (slot.kind === 'root') return replaceRoot(ctx, slot.node, value);
  const old = slot.node;
  if (!old?.range) throw new Unsupported('no position for the old value');
  const container = slot.kind === 'pair' ? slot.map : slot.seq;
  if (container.flow || ctx.json) return [replaceInFlow(ctx, old, value)];
  return slot.kind === 'pair' ? replaceMapValue(ctx, slot.map, slot.pair, old, value) : replaceItem(ctx, slot.seq, slot.index, old, value);
}

function replaceInFlow(ctx: SpliceContext, old: Node, value: unknown): Patch {
  if (old.anchor || old.tag) throw new Unsupported('a flow value with an anchor or tag');
  const [start, end] = old.range!;
  let text = ctx.json ? jsonText(value, ctx.style, linePrefix(ctx.text, start), ctx.path) : inlineText(value, ctx.style, { flowContext: true, oldType: scalarType(old) });
  if (start === end && /[:,[{]$/.test(ctx.text.slice(0, start))) text = ` ${text}`;
  return { start, end, text };
}

function replaceMapValue(ctx: SpliceContext, map: YAMLMap, pair: Pair, old: Node, value: unknown): Patch[] {
  const { text, style } = ctx;
  const colonEnd = pairColonEnd(pair);
  if (colonEnd === null || explicitKey(pair) || !isScalar(pair.key) || !pair.key.range) throw new Unsupported('map entry without a plain key');
  const keyCol = columnOf(text, pair.key.range[0]);
  const flow = prefersFlow(map.items.map((p) => p.value));
  const block = isBlockValue(value, flow);
  const [start, end] = old.range!;
  const childPrefix = () => pad(keyCol + childOffset(ctx, map, Array.isArray(value) ? 'seq' : 'map'));
  const props = propsStart(text, colonEnd, start);
  if (props !== null) {
    // An anchor or tag stands before the value (`key: &a` or `key: !!str 1`): it goes with the value.
    const body = block ? style.eol + indentLines(blockLines(value, style, flow), childPrefix(), style.eol, true) : scalarReplacement(ctx, old, value, pad(keyCol));
    const from = block ? colonEnd : props;
    return [{ start: from, end, text: withEnding(ctx, text.slice(from, end), body) }];
  }

  if (isCollection(old) && !old.flow) {
    const from = lineStart(text, start);
    if (from <= colonEnd || !firstOnLine(text, start)) throw new Unsupported('a block value that starts on its key line');
    if (block) return [{ start: from, end, text: withEnding(ctx, text.slice(from, end), indentLines(blockLines(value, style, flow), childPrefix(), style.eol, true)) }];
    return [
      { start: colonEnd, end: colonEnd, text: ` ${inlineText(value, style)}` },
      { start: from, end, text: '' },
    ];
  }
  if (!block) {
    const replacement = scalarReplacement(ctx, old, value, pad(keyCol));
    return [{ start, end, text: withEnding(ctx, text.slice(start, end), start === colonEnd ? ` ${replacement}` : replacement) }];
  }
  const lines = indentLines(blockLines(value, style, flow), childPrefix(), style.eol, true);
  if (text.slice(start, end).includes('\n')) {
    // A block scalar: its header and content give way to the new lines.
    return [{ start: colonEnd, end, text: withEnding(ctx, text.slice(start, end), style.eol + lines) }];
  }
  const after = nextLineStart(text, end);
  const lead = after === text.length && !text.endsWith('\n') ? style.eol : '';
  return [
    { start: colonEnd, end, text: '' },
    { start: after, end: after, text: `${lead}${lines}${style.eol}` },
  ];
}

function replaceItem(ctx: SpliceContext, seq: YAMLSeq, index: number, old: Node, value: unknown): Patch[] {
  const { text, style } = ctx;
  const dash = seqDash(seq, index);
  if (dash === null) throw new Unsupported('list item without a dash');
  const props = propsStart(ctx.text, dash + 1, old.range![0]);
  const [start, end] = [props ?? old.range![0], old.range![1]];
  const empty = start === end && start === dash + 1;
  const contentCol = empty ? columnOf(text, dash) + 2 : columnOf(text, start);
  const flow = prefersFlow(seq.items);
  let replacement: string;
  if (isBlockValue(value, flow)) replacement = indentLines(blockLines(value, style, flow), pad(contentCol), style.eol);
  else replacement = scalarReplacement(ctx, old, value, pad(columnOf(text, dash)));
  return [{ start, end, text: withEnding(ctx, text.slice(start, end), empty ? ` ${replacement}` : replacement) }];
}

/** The text of a scalar or flow value replacing `old` in block context, keeping a string's quoting or block style. */
function scalarReplacement(ctx: SpliceContext, old: Node, value: unknown, parentPrefix: string): string {
  const type = scalarType(old);
  if (typeof value === 'string' && value.includes('\n') && (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED')) {
    return blockScalarText(value, type, ctx.style, parentPrefix);
  }
  return inlineText(value, ctx.style, { oldType: type });
}

function replaceRoot(ctx: SpliceContext, root: Node | null, value: unknown): Patch[] {
  const { text, style } = ctx;
  if (!root?.range) {
    if (/^\.\.\.[ \t]*$/m.test(text)) throw new Unsupported('a document end marker');
    const body = ctx.json ? jsonText(value, style, '', ctx.path) : blockLines(value, style, false).join(style.eol);
    const lead = text === '' ? '' : (text.endsWith('\n') ? '' : style.eol) + (text.trim() === '' || /^---/m.test(text) ? '' : style.eol);
    return [{ start: text.length, end: text.length, text: `${lead}${body}${style.eol}` }];
  }
  const [start, end] = root.range;
  // an empty `{}` or `[]` (what deleting a file's last key leaves) takes block lines again, as the file had
  if (ctx.json || (isCollection(root) && root.flow && root.items.length > 0)) {
    const body = ctx.json ? jsonText(value, style, linePrefix(text, start), ctx.path) : inlineText(value, style);
    return [{ start, end, text: body }];
  }
  const body = indentLines(blockLines(value, style, false), pad(columnOf(text, start)), style.eol);
  return [{ start, end, text: withEnding(ctx, text.slice(start, end), body) }];
}

// ---- adding entries and items ------------------------------------------------

/** Add new entries to the map at `slot` (its node is the map). */
export function addEntries(ctx: SpliceContext, slot: Slot, map: YAMLMap, entries: ReadonlyArray<[string, unknown]>): Patch[] {
  if (entries.length === 0) return [];
  if (map.flow || ctx.json) {
    if (map.items.length === 0 && !ctx.json && !inFlowContext(slot)) return replaceSlot(ctx, slot, objectOf(entries));
    return [insertInFlow(ctx, map, entries.map(([key, value]) => (prefix) => (ctx.json ? `${JSON.stringify(key)}${ctx.style.json.keySep}${jsonText(value, ctx.style, prefix, ctx.path)}` : flowEntryText(key, value, ctx.style))))];
  }
  const col = mapColumn(ctx.text, map);
  if (col === null || map.items.some(explicitKey)) throw new Unsupported('a map without plain keys');
  const flow = prefersFlow(map.items.map((p) => p.value));
  const lines = entries.map(([key, value]) => indentLines(entryLines(key, value, ctx.style, flow), pad(col), ctx.style.eol, true));
  return [insertAfterBlock(ctx, map, lines)];
}

/** Append items to the list at `slot` (its node is the list). */
export function appendItems(ctx: SpliceContext, slot: Slot, seq: YAMLSeq, items: readonly unknown[]): Patch[] {
  if (items.length === 0) return [];
  if (seq.flow || ctx.json) {
    if (seq.items.length === 0 && !ctx.json && !inFlowContext(slot)) return replaceSlot(ctx, slot, [...items]);
    return [insertInFlow(ctx, seq, items.map((item) => (prefix) => (ctx.json ? jsonText(item, ctx.style, prefix, ctx.path) : inlineText(item, ctx.style, { flowContext: true }))))];
  }
  const dash = seqDash(seq, 0);
  if (dash === null) throw new Unsupported('list item without a dash');
  const flow = prefersFlow(seq.items);
  const lines = items.map((item) => indentLines(itemLines(item, ctx.style, flow), pad(columnOf(ctx.text, dash)), ctx.style.eol, true));
  return [insertAfterBlock(ctx, seq, lines)];
}

function insertAfterBlock(ctx: SpliceContext, node: YAMLMap | YAMLSeq, lines: readonly string[]): Patch {
  const { text, style } = ctx;
  let at = node.range![1];
  if (!atLineStart(text, at)) at = nextLineStart(text, at);
  const lead = at === text.length && text.length > 0 && !text.endsWith('\n') ? style.eol : '';
  return { start: at, end: at, text: lead + lines.map((l) => l + style.eol).join('') };
}

type FlowPart = (prefix: string) => string;

function insertInFlow(ctx: SpliceContext, coll: YAMLMap | YAMLSeq, parts: readonly FlowPart[]): Patch {
  const { text, style } = ctx;
  const spans = flowSpans(coll);
  const [open, close] = [coll.range![0], coll.range![1] - 1];
  if (!/[[{]/.test(text[open] ?? '') || !/[\]}]/.test(text[close] ?? '')) throw new Unsupported('flow collection without brackets');
  if (spans.length === 0) {
    const outer = linePrefix(text, open);
    if (ctx.json && style.json.unit !== null) {
      const inner = outer + style.json.unit;
      return { start: open + 1, end: close, text: `${style.eol}${parts.map((p) => inner + p(inner)).join(`,${style.eol}`)}${style.eol}${outer}` };
    }
    const sep = ctx.json ? style.json.itemSep : ', ';
    const body = parts.map((p) => p(outer)).join(sep);
    return { start: open + 1, end: close, text: !ctx.json && style.flowPadding ? ` ${body} ` : body };
  }
  const last = spans[spans.length - 1]!;
  let sep: string;
  if (spans.length >= 2) {
    sep = text.slice(spans[spans.length - 2]![1], last[0]);
    if (!/^\s*,\s*$/.test(sep)) sep = ctx.json && style.json.unit === null ? style.json.itemSep : ', ';
  } else if (lineStart(text, last[0]) !== lineStart(text, open)) {
    sep = `,${style.eol}${linePrefix(text, last[0])}`;
  } else {
    sep = ctx.json ? style.json.itemSep : ', ';
  }
  const prefix = linePrefix(text, last[0]);
  return { start: last[1], end: last[1], text: parts.map((p) => sep + p(prefix)).join('') };
}

/** Start and end of each item of a flow collection (a map entry from its key to its value). */
function flowSpans(coll: YAMLMap | YAMLSeq): Array<[number, number]> {
  return (coll.items as unknown[]).map((item) => {
    if (isMap(coll)) {
      const pair = item as Pair;
      const first = (pair.key as Node | null)?.range ?? (pair.value as Node | null)?.range;
      const last = (pair.value as Node | null)?.range ?? (pair.key as Node | null)?.range;
      if (!first || !last) throw new Unsupported('flow entry without a position');
      return [first[0], last[1]];
    }
    const range = (item as Node | null)?.range;
    if (!range) throw new Unsupported('flow item without a position');
    return [range[0], range[1]];
  });
}

// ---- removing ----------------------------------------------------------------

/** Remove the entry or item at `slot` (not the root). */
export function removeSlot(ctx: SpliceContext, slot: Exclude<Slot, { kind: 'root' }>): Patch[] {
  const { text } = ctx;
  const container = slot.kind === 'pair' ? slot.map : slot.seq;
  const index = slot.kind === 'pair' ? slot.map.items.indexOf(slot.pair) : slot.index;
  const count = container.items.length;
  if (container.flow || ctx.json) {
    const spans = flowSpans(container);
    if (count === 1) return [{ start: container.range![0] + 1, end: container.range![1] - 1, text: '' }];
    if (index > 0) return [{ start: spans[index - 1]![1], end: spans[index]![1], text: '' }];
    return [{ start: spans[0]![0], end: spans[1]![0], text: '' }];
  }
  if (count === 1) return replaceSlot(ctx, slot.parent, isMap(container) ? {} : []);
  let start: number;
  let end: number;
  let next: number | null;
  if (slot.kind === 'pair') {
    const key = slot.pair.key as Node | null;
    if (!isScalar(key) || !key.range || explicitKey(slot.pair)) throw new Unsupported('map entry without a plain key');
    start = key.range[0];
    end = Math.max(key.range[2], (slot.node?.range?.[2] ?? 0));
    next = index + 1 < count ? ((slot.map.items[index + 1]!.key as Node | null)?.range?.[0] ?? null) : null;
  } else {
    const dash = seqDash(slot.seq, index);
    if (dash === null) throw new Unsupported('list item without a dash');
    start = dash;
    end = Math.max(dash + 1, slot.node?.range?.[2] ?? 0);
    next = index + 1 < count ? seqDash(slot.seq, index + 1) : null;
  }
  if (firstOnLine(text, start)) {
    if (!atLineStart(text, end)) end = nextLineStart(text, end);
    return [{ start: lineStart(text, start), end, text: '' }];
  }
  // The first entry of a map that shares its line with a list's `-` (or an inner list's first item):
  // the next entry moves up to take its place.
  if (index !== 0 || next === null) throw new Unsupported('entry that shares its line');
  return [{ start, end: next, text: '' }];
}

// ---- helpers -------------------------------------------------------------------

/** Where the value's anchor or tag starts, when one stands between the indicator at `from` and the value at `start`. */
function propsStart(text: string, from: number, start: number): number | null {
  let i = from;
  while (i < start && (text[i] === ' ' || text[i] === '\t')) i++;
  return i < start && (text[i] === '&' || text[i] === '!') ? i : null;
}

export function applyPatches(text: string, patches: readonly Patch[]): string {
  // From the end of the text back, so earlier offsets stay valid; of two insertions at one
  // offset, the one listed first ends up first.
  const sorted = patches.map((p, i) => ({ ...p, i })).sort((a, b) => b.start - a.start || b.end - a.end || b.i - a.i);
  let out = text;
  let limit = Infinity;
  for (const p of sorted) {
    if (p.end > limit || p.start > p.end) throw new Error('splice: overlapping edits');
    out = out.slice(0, p.start) + p.text + out.slice(p.end);
    limit = p.start;
  }
  return out;
}

/** The replacement ends with a line break exactly when the text it replaces did. */
function withEnding(ctx: SpliceContext, replaced: string, replacement: string): string {
  const body = replacement.replace(/\r?\n$/, '');
  return replaced.endsWith('\n') ? body + ctx.style.eol : body;
}

/** Spaces between a key's column and its nested block value's, as siblings already have it. */
function childOffset(ctx: SpliceContext, map: YAMLMap, kind: 'map' | 'seq'): number {
  for (const pair of map.items) {
    const key = pair.key as Node | null;
    if (!isScalar(key) || !key.range) continue;
    const keyCol = columnOf(ctx.text, key.range[0]);
    if (kind === 'seq' && isSeq(pair.value) && !pair.value.flow) {
      const dash = seqDash(pair.value, 0);
      if (dash !== null) return columnOf(ctx.text, dash) - keyCol;
    }
    if (kind === 'map' && isMap(pair.value) && !pair.value.flow) {
      const col = mapColumn(ctx.text, pair.value);
      if (col !== null && col > keyCol) return col - keyCol;
    }
  }
  return kind === 'seq' && !ctx.style.indentSeq ? 0 : ctx.style.indent;
}

/** New collections among these siblings are written in flow style when every non-empty one already is. */
function prefersFlow(siblings: readonly unknown[]): boolean {
  const collections = siblings.filter((n) => isCollection(n) && n.items.length > 0) as Array<YAMLMap | YAMLSeq>;
  return collections.length > 0 && collections.every((c) => c.flow);
}

function inFlowContext(slot: Slot): boolean {
  if (slot.kind === 'root') return false;
  return Boolean((slot.kind === 'pair' ? slot.map : slot.seq).flow);
}

function scalarType(node: Node): Scalar['type'] | undefined {
  return isScalar(node) ? node.type : undefined;
}

function objectOf(entries: ReadonlyArray<[string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries);
}
