/**
 * A file's text changed to hold a given value (a sync merge result, a revert):
 * the fewest edits to the existing text, checked by reading the result back.
 */
import { applyValue } from '../merge/apply.js';
import type { IdentityOptions } from '../merge/structure.js';
import { parseStateText } from './document.js';
import { verifyRoundTrip } from './verify.js';

/** `text` (null: a new file) edited to read back as `value`; a RoundTripError if it would not. */
export function textWithValue(path: string, text: string | null, value: unknown, options: IdentityOptions = {}): string {
  const state = parseStateText(text ?? '', path);
  applyValue(state, value, options);
  verifyRoundTrip(path, Buffer.from(state.text), value);
  return state.text;
}
