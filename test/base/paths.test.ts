/** File-name rules (src/base/paths.ts): the ASCII fast path says what the Unicode rule says. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSegmentAllowed, normalizeStatePath, SEGMENT } from '../../src/base/paths.js';
import { PathError } from '../../src/errors.js';


describe('file name segments', () => {
  it('the ASCII fast path agrees with the Unicode rule on every name', () => {
    const chars = fc.constantFrom(...'aZ09_.@+-% \\/:\t\u00e9\u0663\u00b9\u4e2d\u{1f600}'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.array(chars).map((c) => c.join(''))), (segment) => {
        expect(isSegmentAllowed(segment)).toBe(SEGMENT.test(segment));
      }),
      { numRuns: 2000 },
    );
    // every ASCII character, first and later in a name
    for (let c = 0; c < 128; c++) {
      for (const name of [String.fromCharCode(c), `a${String.fromCharCode(c)}`, `${String.fromCharCode(c)}b.c`]) expect(isSegmentAllowed(name), JSON.stringify(name)).toBe(SEGMENT.test(name));
    }
  });

  it('names in other scripts are kept, ASCII punctuation outside the rule is refused', () => {
    expect(normalizeStatePath('projects/caf\u00e9/notes')).toBe('projects/caf\u00e9/notes.yaml');
    expect(normalizeStatePath('\u4e2d\u6587')).toBe('\u4e2d\u6587.yaml');
    expect(() => normalizeStatePath('bad%name')).toThrow(PathError);
    expect(() => normalizeStatePath('with space')).toThrow(PathError);
  });
});
