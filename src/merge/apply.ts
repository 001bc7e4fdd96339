/**
 * Turn a yaml Document into a target value with the fewest edits, so comments
 * and formatting survive wherever the result allows: the structural diff from
 * the document's value to the target, applied change by change.
 */
import { isDeepStrictEqual } from 'node:util';
import type { StateDoc } from '../yaml/document.js';
import { appendValue, deleteValue, getValue, setValue } from '../yaml/edit.js';
import { structuralDiff } from './diff.js';
import type { IdentityOptions } from './structure.js';

export function applyValue(state: StateDoc, target: unknown, options: IdentityOptions = {}): void {
  const current = getValue(state, []);
  const changes = structuralDiff(current, target, options);
  // Removals at list indices go from the end, so earlier indices stay valid.
  const removals = changes.filter((c) => c.kind === 'removed').reverse();
  const others = changes.filter((c) => c.kind !== 'removed');
  try {
    for (const change of removals) deleteValue(state, change.segments);
    for (const change of others) {
      const last = change.segments[change.segments.length - 1];
      if (change.kind === 'added' && last && last.kind !== 'key') appendValue(state, change.segments.slice(0, -1), change.after);
      else setValue(state, change.segments, change.after);
    }
  } catch {
    // Something the edits cannot express (an alias in the way...): write the value whole.
    setValue(state, [], target);
    return;
  }
  if (!isDeepStrictEqual(getValue(state, []), target)) setValue(state, [], target);
}
