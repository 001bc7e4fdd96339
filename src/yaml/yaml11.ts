/**
 * What a YAML 1.1 reader (PyYAML, which the tools gitstate replaces still use)
 * makes of the scalars gitstate writes. gitstate reads YAML 1.2, where
 * `20:38:05`, `yes` and `2026-12-02` are strings; PyYAML reads them as the
 * integer 74285, True and a date. So a string that a 1.1 reader would retype is
 * written quoted, and so is one holding a character PyYAML reads differently.
 */

// PyYAML's implicit resolvers (resolver.py), plus the y/n booleans of the YAML 1.1 spec.
const YAML11_IMPLICIT: readonly RegExp[] = [
  /^(?:y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^<<$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/,
  /^=$/,
];

/** Whether `plain`, written as a plain scalar, would be read by a YAML 1.1 reader as something other than that string. */
export function retypedByYaml11(plain: string): boolean {
  return YAML11_IMPLICIT.some((re) => re.test(plain));
}

// Characters PyYAML refuses in a stream (outside its printable set), the ones it reads as
// line breaks (NEL, LS, PS), and the byte-order mark: such a string is written double-quoted
// with escapes, so the file itself holds only characters both readers take alike.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function needsEscape(value: string): boolean {
  return NEEDS_ESCAPE.test(value);
}

/** A double-quoted YAML scalar for `value` on one line, every character outside the safe set escaped. */
export function doubleQuoted(value: string): string {
  // JSON strings are YAML 1.2 double-quoted scalars, and PyYAML reads the same escapes.
  return JSON.stringify(value).replace(/[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The text of a number that both readers take as that number. JavaScript writes
 * `1e+21`; PyYAML's float needs a dot in the mantissa (`1.0e+21`), or it reads a string.
 */
export function numberText(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  const text = Object.is(value, -0) ? '-0' : String(value);
  return /e/.test(text) && !/\./.test(text) ? text.replace('e', '.0e') : text;
}
