/** The full tier's list of suites matches the suites that have a full form. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FULL_SUITES } from '../vitest.config.js';
import { ROOT } from './helpers/repo.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [relative(ROOT, join(dir, e.name))] : [],
  );
}

describe('test tiers', () => {
  it('FULL_SUITES lists exactly the suites that size themselves by tier', () => {
    const tiered = testFiles(join(ROOT, 'test')).filter((f) => /helpers\/tier\.js/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect([...tiered].sort()).toEqual([...FULL_SUITES].sort());
  });
});
