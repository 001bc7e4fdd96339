import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import git from 'isomorphic-git';
import { afterAll, describe, expect, it } from 'vitest';
import { useNativeZlib } from '../../src/git/native-zlib.js';
import { assertRepoHealthy, cleanupTempDirs, git as nativeGit, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const pako = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'))('pako') as {
  deflate(data: Uint8Array): Uint8Array;
  inflate(data: Uint8Array): Uint8Array;
};

describe("isomorphic-git's zlib", () => {
  it('is Node zlib once a store is prepared; what it writes native git reads, and what native git packs it reads', async () => {
    const repo = await tempRepo(); // opening a store makes the switch
    expect(useNativeZlib()).toBe(true);
    const sample = new TextEncoder().encode('tree 40\0'.repeat(50));
    expect(Buffer.compare(Buffer.from(pako.deflate(sample)), deflateSync(sample))).toBe(0);
    expect(pako.deflate.toString()).toContain('deflateSync');
    expect(pako.inflate.toString()).toContain('inflateSync');
    await repo.set('knowledge', 'value', 'x'.repeat(5000));
    expect(nativeGit(repo.dir, 'cat-file', '-p', 'HEAD:knowledge.yaml')).toContain('x'.repeat(5000));
    assertRepoHealthy(repo.dir);
    nativeGit(repo.dir, 'repack', '-adq'); // now every object is read from a pack
    const store = await repo.store();
    const { blob } = await git.readBlob({ fs: store.fs, gitdir: repo.gitdir, oid: nativeGit(repo.dir, 'rev-parse', 'HEAD:knowledge.yaml').trim() });
    expect(Buffer.from(blob).toString()).toContain('x'.repeat(5000));
  });

  it('keeps pako\'s error contract on corrupt data: a string, which isomorphic-git reports as a DecompressionError', () => {
    useNativeZlib();
    let thrown: unknown;
    try {
      pako.inflate(new Uint8Array([0x78, 0x9c, 1, 2, 3, 4]));
    } catch (err) {
      thrown = err;
    }
    expect(typeof thrown).toBe('string');
  });
});
