/**
 * Property: the file scanner (scanFile) finds at least every secret the parsed
 * data holds, though it parses only texts that may hold one. Sync relies on it
 * to read pulled files without parsing them (sync/secrets.ts): a file the
 * scanner passes must hold nothing a scan of its data would find.
 *
 * Documents are generated from keys that are sensitive, generic or neither,
 * with secrets, placeholders and plain values, in block and flow YAML and JSON,
 * with keys and values sometimes spelled with escapes.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { scanFile } from '../../src/security/secrets.js';
import { scanValue } from '../../src/security/scan.js';
import { parseStateText } from '../../src/yaml/document.js';
import { getValue } from '../../src/yaml/edit.js';
import { sized } from '../helpers/tier.js';
import { tokens as T } from './tokens.js';

const RUNS = sized(300, 3000, 'PROPERTY_RUNS');

const KEYS = ['password', 'db_password', 'apiKey', 'API-KEY', 'token', 'secret', 'client secret', 'value', 'key', 'data', 'name', 'status', 'token_count', 'url', 'notes', 'a', '1'];
const VALUES = [T.github, T.aws, T.slack, T.postgres, T.jwt, 'hunter2', 'changeme', '<redacted>', '${DB_PASSWORD}', '', 'In Progress', '2026-12-07 10:00:00', 'a: b', '# not a comment'];

const scalar = fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null));
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
  ),
}));

/** Spell the first letter of every word character run in a double-quoted YAML scalar as an escape. */
function escapeQuoted(text: string): string {
  return text.replace(/"((?:[^"\\\n]|\\.)*)"/g, (_, body: string) => `"${body.replace(/[A-Za-z]/, (c) => `\\x${c.charCodeAt(0).toString(16)}`)}"`);
}

const layout = fc.constantFrom('block', 'flow', 'quoted', 'escaped', 'json', 'json-escaped');

function render(data: Record<string, unknown>, how: string): { path: string; text: string } {
  switch (how) {
    case 'flow':
      return { path: 'notes/p.yaml', text: stringify(data, { collectionStyle: 'flow' }) };
    case 'quoted':
      return { path: 'notes/p.yaml', text: stringify(data, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' }) };
    case 'escaped':
      return { path: 'notes/p.yaml', text: escapeQuoted(stringify(data, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' })) };
    case 'json':
      return { path: 'notes/p.json', text: JSON.stringify(data, null, 2) };
    case 'json-escaped':
      return { path: 'notes/p.json', text: JSON.stringify(data).replace(/[a-z]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) };
    default:
      return { path: 'notes/p.yaml', text: stringify(data) };
  }
}

describe('file scanner', () => {
  it('finds every secret a scan of the parsed data finds, whichever texts it skips parsing', () => {
    let withSecrets = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { minKeys: 1, maxKeys: 5 }), layout, (data, how) => {
        const { path, text } = render(data, how);
        const inData = scanValue(getValue(parseStateText(text, path), []));
        const found = new Set(scanFile(path, Buffer.from(text)).map((f) => f.id));
        if (inData.length > 0) withSecrets++;
        for (const f of inData) expect(found.has(f.id), `${f.rule} at ${f.key} in ${how}:\n${text}`).toBe(true);
      }),
      { numRuns: RUNS },
    );
    // the generator does reach the case that matters: data that holds secrets
    expect(withSecrets).toBeGreaterThan(RUNS / 4);
  });
});
