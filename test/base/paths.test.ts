/** File-name rules (src/base/paths.ts): the ASCII fast path says what the Unicode rule says. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSegmentAllowed, normalizeStatePath } from '../../src/base/paths.js';
import { PathError } from '../../src/errors.js';

/** The rule as it is written: letters and digits of any script, and _ . @ + - after the first character. */
const RULE = /^[\p{L}\p{N}_][\p{L}\p{N}._@+-]*$/u;

describe('file name segments', () => {
  it('the ASCII fast path agrees with the Unicode rule on every name', () => {
    const chars = fc.constantFrom(...'aZ09_.@+-% \\/:\t\u00e9\u0663\u00b9\u4e2d\u{1f600}'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.array(chars).map((c) => c.join(''))), (segment) => {
        expect(isSegmentAllowed(segment)).toBe(RULE.test(segment));
      }),
      { numRuns: 2000 },
    );
  });

  it('names in other scripts are kept, ASCII punctuation outside the rule is refused', () => {
    expect(normalizeStatePath('projects/caf\u00e9/notes')).toBe('projects/caf\u00e9/notes.yaml');
    expect(normalizeStatePath('\u4e2d\u6587')).toBe('\u4e2d\u6587.yaml');
    expect(() => normalizeStatePath('bad%name')).toThrow(PathError);
    expect(() => normalizeStatePath('with space')).toThrow(PathError);
  });
});
