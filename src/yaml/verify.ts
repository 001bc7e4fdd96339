/**
 * The net under every write: the exact bytes about to be written are parsed
 * again, and must read back as the data the write meant, types included. It
 * never fires when the editor is right; when it does, nothing is written.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Document } from 'yaml';
import { ExitCode, GitstateError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { decodeText, readStateText } from './document.js';

/** gitstate produced text that does not read back as what it meant: a bug in gitstate, not in the input (exit 1). */
export class RoundTripError extends GitstateError {
  readonly code = 'ROUND_TRIP';
  readonly exitCode = ExitCode.runtime;
}

/**
 * Parse `bytes` as `path`'s content and compare with `intended`; return the
 * parsed value (for the schema and secret checks), or throw a RoundTripError.
 */
export function verifyRoundTrip(path: string, bytes: Uint8Array, intended: unknown): unknown {
  return readBack(path, bytes, intended).value;
}

/** verifyRoundTrip, also giving the text and Document it read (a later edit of these very bytes may start from them). */
export function readBack(path: string, bytes: Uint8Array, intended: unknown): { value: unknown; text: string; doc: Document } {
  let value: unknown;
  let text: string;
  let doc: Document;
  try {
    text = decodeText(bytes, path);
    ({ value, doc } = readStateText(text, path));
    if (path.endsWith('.json')) {
      const json: unknown = JSON.parse(text);
      if (!isDeepStrictEqual(json, value)) throw new Error(`JSON.parse reads it differently${differenceAt(json, value)}`);
    }
  } catch (err) {
    throw new RoundTripError(`internal error: the new content of ${path} does not read back (${(err as Error).message}); nothing was written`, { file: path });
  }
  if (!isDeepStrictEqual(value, intended)) {
    throw new RoundTripError(`internal error: the new content of ${path} does not read back as the data meant${differenceAt(value, intended)}; nothing was written`, { file: path });
  }
  return { value, text, doc };
}

/** ` (first difference at KEY)`, for the message. */
function differenceAt(a: unknown, b: unknown): string {
  const path = firstDifference(a, b, []);
  return path ? ` (first difference at ${formatKeyPath(path) || 'the top level'})` : '';
}

function firstDifference(a: unknown, b: unknown, at: Segment[]): Segment[] | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], [...at, { kind: 'index', index: i }]);
      if (found) return found;
    }
  } else if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [...at, { kind: 'key', name: key }]);
      if (found) return found;
    }
  }
  return at;
}
