/**
 * Values that would not survive being stored: numbers that lose digits or
 * become infinite when text is read into a JS number, and JSON errors that
 * would quote the text they failed on.
 *
 * Numbers are refused (exit 3), not stored as strings: a string where the user
 * wrote a number would change its type for every reader (PyYAML, jq, the
 * schemas), silently. The error says how to keep the digits: quote them.
 * Only real loss is refused: `9007199254740992` and `1e20` are exact doubles
 * and pass; `9007199254740993`, `12345678901234567890`, `0.12345678901234567890`
 * and `1e400` do not.
 */
import { isScalar, visit, type Document } from 'yaml';
import { ExitCode, GitstateError } from '../errors.js';

/** A value that cannot be stored as given. */
export class ValueError extends GitstateError {
  readonly code = 'INVALID_VALUE';
  readonly exitCode = ExitCode.rejected;
}

const HINT = 'quote it to keep it as text (or pass --string)';

/** Refuse numbers that are not finite (JSON has no infinity; JSON.stringify writes null). */
export function checkFiniteNumbers(value: unknown, where: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new ValueError(`${where} holds ${String(v)}, which cannot be stored (JSON and YAML readers have no such number); ${HINT}`);
    } else if (typeof v === 'bigint') {
      throw new ValueError(`${where} holds a BigInt, which JSON cannot store; give it as a string`);
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
      for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push(child);
    }
  }
}

/** Does the decimal text `token` read back as exactly the number JS makes of it? */
export function numberTextIsExact(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return false;
  const a = decimal(token);
  const b = decimal(String(n));
  return a === null || b === null || (a.digits === b.digits && a.exponent === b.exponent);
}

/** `-12.50e3` -> digits "125", exponent of the last digit 1; null for non-decimal forms (hex, octal). */
function decimal(token: string): { digits: string; exponent: number } | null {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(token.trim());
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return null;
  let digits = `${m[1]}${m[2] ?? ''}`;
  let exponent = Number(m[3] ?? 0) - (m[2] ?? '').length;
  digits = digits.replace(/^0+/, '');
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return digits === '' ? { digits: '0', exponent: 0 } : { digits, exponent };
}

function lossError(token: string, where: string): ValueError {
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  return Number.isFinite(Number(token))
    ? new ValueError(`${where}: the number ${shown} has more digits than a number can keep (it would be stored as ${String(Number(token))}); ${HINT}`)
    : new ValueError(`${where}: the number ${shown} is too large (it would be stored as infinity); ${HINT}`);
}

/** Refuse a YAML value whose number scalars would lose digits; `text` is the source the document was parsed from. */
export function checkYamlNumbers(doc: Document, text: string, where: string): void {
  let bad: string | null = null;
  let infinite = false;
  visit(doc, {
    Scalar(_, node) {
      if (!isScalar(node) || typeof node.value !== 'number' || !node.range) return undefined;
      const source = text.slice(node.range[0], node.range[1]).trim();
      const decimalForm = /^[+-]?(?:\d|\.\d)/.test(source);
      infinite = !decimalForm && !Number.isFinite(node.value); // .inf, .nan
      const lossy = decimalForm ? !numberTextIsExact(source) : infinite || (Number.isInteger(node.value) && !Number.isSafeInteger(node.value));
      if (lossy) {
        bad = source;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (bad !== null && infinite) throw new ValueError(`${where}: ${bad} is not a finite number, which JSON and most readers cannot store; ${HINT}`);
  if (bad !== null) throw lossError(bad, where);
}

/** Refuse JSON text with a number that JSON.parse would round or make infinite. Strings are skipped. */
export function checkJsonNumbers(text: string, where: string): void {
  const number = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      number.lastIndex = i;
      const m = number.exec(text);
      if (!m) continue;
      if (!numberTextIsExact(m[0])) throw lossError(m[0], where);
      i += m[0].length - 1;
    }
  }
}

/**
 * JSON.parse's reason without the text it quotes (V8 quotes the input:
 * `Unexpected token 'g', "ghp_…" is not valid JSON`), with a line and column
 * where it gives a position.
 */
export function jsonErrorReason(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /at position (\d+)/.exec(message);
  const at = position ? ` at ${lineColumn(text, Number(position[1]))}` : '';
  if (/Unexpected end of JSON input/i.test(message)) return 'it ends too early';
  if (/Unterminated string/i.test(message)) return `a string is not closed${at}`;
  if (/Bad control character/i.test(message)) return `a control character inside a string${at}`;
  if (/Bad escaped character|Bad Unicode escape/i.test(message)) return `a bad escape in a string${at}`;
  if (/Expected property name/i.test(message)) return `a property name (in double quotes) was expected${at}`;
  if (/Expected ',' or '}'/i.test(message)) return `a "," or "}" was expected${at}`;
  if (/Expected ',' or ']'/i.test(message)) return `a "," or "]" was expected${at}`;
  if (/non-whitespace character after JSON/i.test(message)) return `there is more after the JSON value${at}`;
  if (/Exponent part is missing|No number after minus|Unterminated fractional/i.test(message)) return `a number is malformed${at}`;
  return `unexpected text${at}`;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}
