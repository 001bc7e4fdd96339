/**
 * Keep the original bytes of every line an edit did not touch.
 *
 * The yaml library re-renders the whole document on output and normalises a few
 * details on the way (the spaces before a trailing comment, where a comment after
 * `key:` goes). So the output is a three-way line merge: base = the unedited
 * document as yaml renders it, ours = the original text, theirs = the edited
 * rendering. Lines the edit left alone come from the original text; lines it
 * changed come from the rendering.
 */
import { diffArrays } from 'diff';
import { serialize, type StateDoc } from './document.js';

/** The edited document as text, with every line the edit did not touch kept as it was. */
export function render(state: StateDoc): string {
  const edited = serialize(state);
  if (state.json || state.rendered === undefined) return edited;
  return preserveLayout(state.source, state.rendered, edited);
}

interface Block {
  /** Original lines standing for this block's rendered lines. */
  original: string[];
  /** Indices of the rendered (base) lines the block covers. */
  base: number[];
}

export function preserveLayout(original: string, renderedBefore: string, renderedAfter: string): string {
  if (original === renderedBefore) return renderedAfter;
  const base = renderedBefore.split('\n');
  const blocks = alignOriginal(base, original.split('\n'));
  const blockOf = new Map<number, Block>();
  for (const block of blocks) for (const i of block.base) blockOf.set(i, block);

  // Which base lines the edit kept, in order, and where it inserted lines.
  const steps: Array<{ kept: number } | { added: string }> = [];
  let b = 0;
  for (const change of diffArrays(base, renderedAfter.split('\n'))) {
    for (const line of change.value) {
      if (change.added) steps.push({ added: line });
      else if (change.removed) b++;
      else steps.push({ kept: b++ });
    }
  }
  // A block is intact when all its base lines were kept, back to back.
  const intact = new Set<Block>();
  steps.forEach((step, i) => {
    if (!('kept' in step)) return;
    const block = blockOf.get(step.kept)!;
    const first = block.base[0];
    if (step.kept !== first) return;
    const run = steps.slice(i, i + block.base.length);
    if (run.every((s, k) => 'kept' in s && s.kept === block.base[k])) intact.add(block);
  });

  const out: string[] = [];
  for (const step of steps) {
    if ('added' in step) {
      out.push(step.added);
      continue;
    }
    const block = blockOf.get(step.kept)!;
    if (!intact.has(block)) out.push(base[step.kept]!);
    else if (step.kept === block.base[0]) out.push(...block.original);
  }
  return out.join('\n');
}

/** Pair each run of rendered lines with the original lines it came from. */
function alignOriginal(base: string[], original: string[]): Block[] {
  const blocks: Block[] = [];
  let b = 0;
  let pending: Block | null = null;
  for (const change of diffArrays(base, original)) {
    if (change.removed) {
      pending = { original: [], base: change.value.map(() => b++) };
      blocks.push(pending);
    } else if (change.added) {
      // Original lines the renderer rewrote: they belong with the rendered lines just removed,
      // or, with none, with the block before (lines the renderer dropped, such as extra blank lines).
      const owner = pending ?? blocks[blocks.length - 1];
      if (owner) owner.original.push(...change.value);
      else blocks.push((pending = { original: [...change.value], base: [] }));
    } else {
      pending = null;
      for (const line of change.value) blocks.push({ original: [line], base: [b++] });
    }
  }
  return blocks;
}
