import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { useNativeDeflate } from '../../src/git/native-deflate.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const pako = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'))('pako') as { deflate(data: Uint8Array): Uint8Array };

describe("isomorphic-git's deflate", () => {
  it('is Node zlib once a store is prepared, and the objects it writes are ones native git reads', async () => {
    const repo = await tempRepo(); // opening a store makes the switch
    expect(useNativeDeflate()).toBe(true);
    const sample = new TextEncoder().encode('tree 40\0'.repeat(50));
    expect(Buffer.compare(Buffer.from(pako.deflate(sample)), deflateSync(sample))).toBe(0);
    expect(pako.deflate.toString()).toContain('deflateSync');
    await repo.set('knowledge', 'value', 'x'.repeat(5000));
    expect(git(repo.dir, 'cat-file', '-p', 'HEAD:knowledge.yaml')).toContain('x'.repeat(5000));
    assertRepoHealthy(repo.dir);
  });
});
