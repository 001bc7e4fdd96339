/**
 * patches/ carries fixes to dependencies until they land upstream, applied by
 * patch-package on install. If a fresh install stopped applying them, everything
 * would still work, only slower; this makes that a failure instead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('dependency patches', () => {
  it("isomorphic-git builds a fetched pack's fanout table in one pass over the hashes", () => {
    const source = readFileSync(require.resolve('isomorphic-git'), 'utf8');
    expect(source).toContain('perFirstByte[parseInt(hash.slice(0, 2), 16)]++');
    expect(source).not.toContain('if (parseInt(hash.slice(0, 2), 16) <= i) count++');
  });
});
