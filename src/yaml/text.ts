/**
 * Positions in a file's text: lines, columns, and where the indicators of a
 * block collection stand (the `-` of a list item, the `:` of a map entry), from
 * the CST tokens the yaml library keeps on each node.
 */
import type { CST, Pair, YAMLSeq } from 'yaml';

/** Offset of the start of the line holding `offset` (after a byte-order mark on the first line). */
export function lineStart(text: string, offset: number): number {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return start === 0 && text.charCodeAt(0) === 0xfeff ? Math.min(1, offset) : start;
}

/** Offset just after the line break ending the line that holds `offset` (or the end of the text). */
export function nextLineStart(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end + 1;
}

export function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

export function atLineStart(text: string, offset: number): boolean {
  return lineStart(text, offset) === offset;
}

/** Whether only spaces stand between the start of the line and `offset`. */
export function firstOnLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStart(text, offset), offset));
}

/** The leading whitespace of the line holding `offset`. */
export function linePrefix(text: string, offset: number): string {
  const start = lineStart(text, offset);
  return /^[ \t]*/.exec(text.slice(start, offset))![0];
}

/** Offset of the `-` of item `index` of a block list, from its CST token. */
export function seqDash(seq: YAMLSeq, index: number): number | null {
  const token = seq.srcToken as CST.BlockSequence | undefined;
  const item = token?.type === 'block-seq' ? token.items[index] : undefined;
  const dash = item?.start.find((t) => t.type === 'seq-item-ind');
  return dash && 'offset' in dash ? dash.offset : null;
}

/** Offset just after the `:` of a map entry, from its CST token. */
export function pairColonEnd(pair: Pair): number | null {
  const item = pair.srcToken as CST.CollectionItem | undefined;
  const colon = item?.sep?.find((t) => t.type === 'map-value-ind');
  return colon && 'offset' in colon ? colon.offset + 1 : null;
}

/** Whether the entry has an explicit key (`? key`), which the splicer leaves to the renderer. */
export function explicitKey(pair: Pair): boolean {
  const item = pair.srcToken as CST.CollectionItem | undefined;
  return Boolean(item?.start.some((t) => t.type === 'explicit-key-ind'));
}
