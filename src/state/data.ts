/**
 * state.json as data: read and checked, and a flush's changes made on it key
 * by key. Shared by the StateManager's flush and the same flush made for it by
 * the lock's holder (core/transaction.ts patch), so the two write the same bytes.
 */
import type * as z from 'zod';
import { SchemaError } from '../errors.js';
import type { Segment } from '../base/keypath.js';
import type { stateJson } from '../schema/builtin.js';
import { validateContent } from '../schema/validate.js';
import { jsonErrorReason } from '../security/values.js';
import { RESET_HINT, STATE_FILE, StateCorruptError } from './corrupt.js';
import { applyChange, type DataChange } from './object-path.js';

/** state.json's content: typed by its schema (sessions, persona, tools), unknown keys kept. */
export type StateData = z.infer<typeof stateJson>;

/** state.json's text (null: absent) as data, refused when corrupt or off its schema. */
export function parseStateData(text: string | null): StateData {
  if (text === null) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StateCorruptError(`${STATE_FILE} is not valid JSON (${jsonErrorReason(err, text)}); ${RESET_HINT}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new StateCorruptError(`${STATE_FILE} must hold a JSON object; ${RESET_HINT}`);
  }
  try {
    validateContent(STATE_FILE, data);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    throw new StateCorruptError(`${err.message}; ${RESET_HINT}`);
  }
  return data as StateData;
}

/** state.json's text (null: absent) with `changes` made on it key by key; `mine`: the writer's value of a top-level key a change no longer fits under. */
export function withChanges(text: string | null, changes: readonly DataChange[], mine: (top: Segment[]) => unknown): StateData {
  const data = parseStateData(text);
  for (const change of changes) applyChange(data, change, mine);
  return data;
}

/** How state.json is written. */
export function stateText(data: StateData): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}
