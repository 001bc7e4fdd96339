/**
 * Turn a state file into a target value with the fewest edits, so comments
 * and formatting survive wherever the result allows: the structural diff from
 * the file's value to the target, applied change by change as text edits.
 */
import { isDeepStrictEqual } from 'node:util';
import type { StateDoc } from '../yaml/document.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { appendValues, deleteValue, replaceDocument, setValue } from '../yaml/edit.js';
import { structuralDiff, type Change } from './diff.js';
import type { IdentityOptions } from './structure.js';

export function applyValue(state: StateDoc, target: unknown, options: IdentityOptions = {}): void {
  const changes = structuralDiff(state.value, target, options);
  // Removals at list indices go from the end, so earlier indices stay valid.
  const removals = changes.filter((c) => c.kind === 'removed').reverse();
  const others = changes.filter((c) => c.kind !== 'removed');
  try {
    for (const change of removals) deleteValue(state, change.segments);
    for (let i = 0; i < others.length; i++) {
      const change = others[i]!;
      const last = change.segments[change.segments.length - 1];
      if (change.segments.length === 0) replaceDocument(state, change.after);
      else if (change.kind === 'added' && last && last.kind !== 'key') {
        // the items added to one list go in one edit: each edit parses the file again
        const list = change.segments.slice(0, -1);
        const items = [change.after];
        while (i + 1 < others.length && isAppendTo(others[i + 1]!, list)) items.push(others[++i]!.after);
        appendValues(state, list, items, false);
      } else setValue(state, change.segments, change.after);
    }
  } catch {
    // Something the edits cannot express (an alias in the way...): write the value whole.
    replaceDocument(state, target);
    return;
  }
  if (!isDeepStrictEqual(state.value, target)) replaceDocument(state, target);
}

/** Whether `change` adds an item to the list at `list`. */
function isAppendTo(change: Change, list: readonly Segment[]): boolean {
  const last = change.segments[change.segments.length - 1];
  return change.kind === 'added' && last !== undefined && last.kind !== 'key' && change.segments.length === list.length + 1 && formatKeyPath(change.segments.slice(0, -1)) === formatKeyPath(list);
}
