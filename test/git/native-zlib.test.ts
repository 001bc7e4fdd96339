import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import git from 'isomorphic-git';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeInflate, useNativeZlib } from '../../src/git/native-zlib.js';
import { assertRepoHealthy, cleanupTempDirs, git as nativeGit, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const fromIsomorphicGit = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'));
const pako = fromIsomorphicGit('pako') as { deflate(data: Uint8Array): Uint8Array; inflate(data: Uint8Array): Uint8Array };
// pako's own modules, which the switch leaves untouched: the reference to compare with.
const original = {
  deflate: (fromIsomorphicGit('pako/lib/deflate') as { deflate(data: Uint8Array): Uint8Array }).deflate,
  inflate: (fromIsomorphicGit('pako/lib/inflate') as { inflate(data: Uint8Array): Uint8Array }).inflate,
  Inflate: (fromIsomorphicGit('pako/lib/inflate') as { Inflate: new () => { push(d: Uint8Array, last: boolean): boolean; result?: Uint8Array; strm: { avail_in: number } } }).Inflate,
};

const sample = new TextEncoder().encode('tree 40\0'.repeat(50) + 'blob 12\0hello world\n');

describe("isomorphic-git's zlib", () => {
  it('is Node zlib once a store is prepared; what it writes native git reads, and what native git packs it reads', async () => {
    const repo = await tempRepo(); // opening a store makes the switch
    expect(useNativeZlib()).toBe(true);
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

  it('gives the same bytes as pako', () => {
    useNativeZlib();
    const deflated = pako.deflate(sample);
    expect(Buffer.compare(Buffer.from(deflated), Buffer.from(original.deflate(sample)))).toBe(0);
    expect(Buffer.compare(Buffer.from(pako.inflate(deflated)), Buffer.from(original.inflate(deflated)))).toBe(0);
  });

  it("streams like pako's Inflate: the result, and how much of the input lies after the stream, also when it comes in pieces", () => {
    const input = Buffer.concat([deflateSync(sample), Buffer.from('the next pack entry')]);
    const theirs = new original.Inflate();
    theirs.push(input, false);
    const whole = new NativeInflate();
    whole.push(input);
    expect(Buffer.compare(Buffer.from(whole.result!), Buffer.from(theirs.result!))).toBe(0);
    expect(whole.strm.avail_in).toBe(theirs.strm.avail_in);
    expect(whole.strm.avail_in).toBe('the next pack entry'.length);

    const pieces = new NativeInflate();
    pieces.push(input.subarray(0, 10));
    expect(pieces.result).toBeUndefined();
    pieces.push(input.subarray(10));
    expect(Buffer.compare(Buffer.from(pieces.result!), Buffer.from(sample))).toBe(0);
    expect(pieces.strm.avail_in).toBe('the next pack entry'.length);
  });

  it("keeps pako's error contract on corrupt data", () => {
    useNativeZlib();
    let thrown: unknown;
    try {
      pako.inflate(new Uint8Array([0x78, 0x9c, 1, 2, 3, 4]));
    } catch (err) {
      thrown = err;
    }
    expect(typeof thrown).toBe('string'); // isomorphic-git turns it into a DecompressionError
    const streaming = new NativeInflate();
    expect(streaming.push(new Uint8Array([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]))).toBe(false);
    expect(streaming.err).not.toBe(0);
    expect(streaming.msg).not.toBe('');
  });
});
