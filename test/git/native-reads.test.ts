/**
 * What sync reads (the files two commits differ in, and blobs in bulk) is the
 * same read here (loose objects, and packs with their deltas), through native
 * git, and through isomorphic-git, on packed and loose objects alike.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as looseObjects from '../../src/git/loose.js';
import * as native from '../../src/git/native.js';
import { nativeBlobs, nativeChangedPaths } from '../../src/git/native.js';
import { GitStore } from '../../src/git/store.js';
import { HistoryIndex } from '../../src/history/index-file.js';
import { cleanupTempDirs, git, restoreEnv, tempDir } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const PATHS = ['a.yaml', 'b.json', 'x/c.yaml', 'x/y/d.yaml', 'x/y/e.bin', 'z/f.yaml'];
const content = fc.oneof(fc.constantFrom('k: 1\n', 'k: 2\n', ''), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')));
const tree = fc.dictionary(fc.constantFrom(...PATHS), content, { maxKeys: PATHS.length });

async function withoutGit<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  process.env.PATH = await tempDir();
  try {
    return await fn();
  } finally {
    restoreEnv(saved);
  }
}

/** `read` on a store that reads no object itself (neither loose nor packed) with no git on the PATH: isomorphic-git reads them. */
async function throughIsomorphicGit<T>(dir: string, read: (index: HistoryIndex) => Promise<T>): Promise<T> {
  const store = new GitStore(dir);
  const packed = vi.spyOn(store.packs, 'read').mockReturnValue(null);
  const loose = vi.spyOn(looseObjects, 'readLoose').mockReturnValue(null);
  try {
    return await withoutGit(() => read(new HistoryIndex(store)));
  } finally {
    packed.mockRestore();
    loose.mockRestore();
  }
}

function commitTree(dir: string, files: Record<string, string>): string {
  for (const path of PATHS) rmSync(join(dir, path), { force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text, 'latin1');
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'state');
  return git(dir, 'rev-parse', 'HEAD').trim();
}

describe('reads through native git', () => {
  it('the files two commits differ in, and their blobs, are what the in-process reads give', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(tree, tree, fc.boolean(), async (before, after, pack) => {
        const a = commitTree(dir, before);
        const b = commitTree(dir, after);
        if (pack) git(dir, 'repack', '-qad');
        const store = new GitStore(dir);
        // read here (loose, or from the pack with its deltas), by native git, and through isomorphic-git
        const here = await new HistoryIndex(store).changedBetween(a, b);
        expect(await nativeChangedPaths(store.gitdir, a, b)).toEqual(here);
        expect(await throughIsomorphicGit(dir, (index) => index.changedBetween(a, b))).toEqual(here);
        const fromRoot = await new HistoryIndex(store).changedBetween(null, b);
        expect(await nativeChangedPaths(store.gitdir, null, b)).toEqual(fromRoot);
        expect(await throughIsomorphicGit(dir, (index) => index.changedBetween(null, b))).toEqual(fromRoot);
        const oids = Object.values(fromRoot).filter((o): o is string => o !== null);
        const blobs = await nativeBlobs(store.gitdir, [...oids, '0'.repeat(40)]);
        expect(blobs?.has('0'.repeat(40))).toBe(false); // an id git does not have is left out
        for (const oid of oids) expect(Buffer.from(blobs!.get(oid)!)).toEqual(Buffer.from(await new GitStore(dir).readBlob(oid)));
        if (Object.keys(here).length > 0) compared++;
      }),
      { numRuns: 25 },
    );
    expect(compared).toBeGreaterThan(0);
  });

  it('a file whose mode alone changed counts as changed, for every reader', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    const a = commitTree(dir, { 'a.yaml': 'k: 1\n', 'x/c.yaml': 'k: 2\n' });
    git(dir, 'update-index', '--chmod=+x', 'x/c.yaml');
    git(dir, 'commit', '-qm', 'executable');
    const b = git(dir, 'rev-parse', 'HEAD').trim();
    const blob = git(dir, 'rev-parse', 'HEAD:x/c.yaml').trim();
    const store = new GitStore(dir);
    expect(await new HistoryIndex(store).changedBetween(a, b)).toEqual({ 'x/c.yaml': blob });
    expect(await nativeChangedPaths(store.gitdir, a, b)).toEqual({ 'x/c.yaml': blob });
    expect(await throughIsomorphicGit(dir, (index) => index.changedBetween(a, b))).toEqual({ 'x/c.yaml': blob });
  });

  it('preloaded blobs are served from memory, byte for byte', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    const files = Object.fromEntries(PATHS.map((p, i) => [p, `value: ${i}\n`]));
    const head = commitTree(dir, files);
    git(dir, 'repack', '-qad');
    git(dir, 'prune-packed');
    const changed = await new HistoryIndex(new GitStore(dir)).changedBetween(null, head);
    const oids = Object.values(changed) as string[];
    const bulk = vi.spyOn(native, 'nativeBlobs');
    // blobs read here (in a small pack) are kept as read: no git process
    const here = new GitStore(dir);
    await here.preloadBlobs(oids);
    expect(bulk).not.toHaveBeenCalled();
    // blobs not read here (as in a pack too big to read) come from one git cat-file
    const far = new GitStore(dir);
    const readsPacks = vi.spyOn(far.packs, 'read').mockReturnValue(null);
    await far.preloadBlobs(oids);
    expect(bulk).toHaveBeenCalledTimes(1);
    rmSync(join(dir, '.git/objects/pack'), { recursive: true, force: true }); // nothing left to read them from
    for (const store of [here, far]) {
      for (const [path, oid] of Object.entries(changed)) expect(Buffer.from(await store.readBlob(oid!)).toString()).toBe(files[path]);
    }
    readsPacks.mockRestore();
    bulk.mockRestore();
  });
});
