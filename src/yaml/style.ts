/**
 * The layout a file already uses, so that what gitstate adds looks like what is
 * there: line endings, indent width, whether block lists under a key are
 * indented (`key:\n  - a`) or not (PyYAML's `key:\n- a`), which quote a string
 * that must be quoted gets, flow padding, and for JSON the indent and separators.
 */
import { isMap, isPair, isScalar, isSeq, visit } from 'yaml';
import type { Document, Pair, YAMLMap } from 'yaml';
import { columnOf, seqDash } from './text.js';

export type Quote = 'QUOTE_SINGLE' | 'QUOTE_DOUBLE';

export interface Style {
  eol: '\n' | '\r\n';
  /** Spaces a nested block map is indented by. */
  indent: number;
  /** Whether a block list under a map key is indented (true) or starts at the key's column (PyYAML). */
  indentSeq: boolean;
  /** Columns from a list item's dash to its map or list (`- a: 1` 2; PyYAML's indent=4 `-   a: 1` 4). */
  itemGap: number;
  /** The quote for a new string that must be quoted. */
  quote: Quote;
  /** Flow collections written `{ a: 1 }` rather than `{a: 1}`. */
  flowPadding: boolean;
  json: JsonStyle;
}

export interface JsonStyle {
  /** One level of indentation (`  `, `    `, a tab), or null for a file on one line. */
  unit: string | null;
  /** Between the items of a one-line file: `, ` (Python's json.dumps) or `,` (JSON.stringify). */
  itemSep: string;
  keySep: string;
}

export const DEFAULT_STYLE: Style = {
  eol: '\n',
  indent: 2,
  indentSeq: true,
  itemGap: 2,
  quote: 'QUOTE_DOUBLE',
  flowPadding: false,
  json: { unit: '  ', itemSep: ', ', keySep: ': ' },
};

export function detectStyle(text: string, doc: Document, json: boolean): Style {
  const eol = /\r\n/.test(text) && !/(^|[^\r])\n/.test(text) ? '\r\n' : '\n';
  if (json) return { ...DEFAULT_STYLE, eol, json: text.trim() === '' ? DEFAULT_STYLE.json : detectJson(text) };
  const indents = new Map<number, number>();
  const seqIndents = { indented: 0, indentless: 0 };
  const quotes = { QUOTE_SINGLE: 0, QUOTE_DOUBLE: 0 };
  const gaps = new Map<number, number>();
  visit(doc, {
    Seq(_, seq) {
      if (seq.flow) return;
      seq.items.forEach((item, i) => {
        if (!(isMap(item) || isSeq(item)) || item.flow || !item.range) return;
        const dash = seqDash(seq, i);
        if (dash === null) return;
        const gap = columnOf(text, item.range[0]) - columnOf(text, dash);
        if (gap > 0) gaps.set(gap, (gaps.get(gap) ?? 0) + 1);
      });
    },
    Pair(_, pair) {
      const keyCol = pairColumn(text, pair);
      if (keyCol === null) return;
      if (isMap(pair.value) && !pair.value.flow && pair.value.items.length > 0) {
        const col = mapColumn(text, pair.value);
        if (col !== null && col > keyCol) indents.set(col - keyCol, (indents.get(col - keyCol) ?? 0) + 1);
      } else if (isSeq(pair.value) && !pair.value.flow) {
        const dash = seqDash(pair.value, 0);
        if (dash !== null) {
          if (columnOf(text, dash) > keyCol) seqIndents.indented++;
          else seqIndents.indentless++;
        }
      }
    },
    Scalar(_, scalar) {
      if (scalar.type === 'QUOTE_SINGLE' || scalar.type === 'QUOTE_DOUBLE') quotes[scalar.type]++;
    },
  });
  return {
    eol,
    indent: mostCommon(indents, DEFAULT_STYLE.indent),
    indentSeq: seqIndents.indented + seqIndents.indentless === 0 ? DEFAULT_STYLE.indentSeq : seqIndents.indented >= seqIndents.indentless,
    itemGap: mostCommon(gaps, DEFAULT_STYLE.itemGap),
    quote: quotes.QUOTE_SINGLE > quotes.QUOTE_DOUBLE ? 'QUOTE_SINGLE' : 'QUOTE_DOUBLE',
    flowPadding: /[[{] [^\s\]}]/.test(text),
    json: DEFAULT_STYLE.json,
  };
}

/** The value seen most often (the smallest on a tie), or `fallback` when none was seen. */
function mostCommon(counts: ReadonlyMap<number, number>, fallback: number): number {
  let best = fallback;
  let seen = 0;
  for (const [value, count] of counts) if (count > seen || (count === seen && value < best)) [best, seen] = [value, count];
  return best;
}

function detectJson(text: string): JsonStyle {
  const keySep = /":\s/.test(text) || !/":/.test(text) ? ': ' : ':';
  const nested = /\n([ \t]+)\S/.exec(text);
  if (nested) return { unit: nested[1]!, itemSep: ',', keySep };
  // One line: Python's json.dumps writes `, ` and `: `, JSON.stringify `,` and `:`.
  const itemSep = /,\s/.test(text) ? ', ' : /,/.test(text) || keySep === ':' ? ',' : ', ';
  return { unit: null, itemSep, keySep };
}

/** Column of a block map's keys, or null when its first key has no position. */
export function mapColumn(text: string, map: YAMLMap): number | null {
  const first = map.items[0];
  return first ? pairColumn(text, first) : null;
}

function pairColumn(text: string, pair: Pair): number | null {
  if (!isPair(pair) || !isScalar(pair.key) || !pair.key.range) return null;
  return columnOf(text, pair.key.range[0]);
}

