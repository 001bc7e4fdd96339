/**
 * What sync reads through native git where it is installed (the files two
 * commits differ in, and blobs in bulk) must equal what gitstate reads
 * in-process without it, on packed and loose objects alike.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeBlobs } from '../../src/git/native.js';
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
        const native = await new HistoryIndex(store).changedBetween(a, b);
        const inProcess = await withoutGit(() => new HistoryIndex(new GitStore(dir)).changedBetween(a, b));
        expect(native).toEqual(inProcess);
        const fromRoot = await new HistoryIndex(store).changedBetween(null, b);
        expect(fromRoot).toEqual(await withoutGit(() => new HistoryIndex(new GitStore(dir)).changedBetween(null, b)));
        const oids = Object.values(fromRoot).filter((o): o is string => o !== null);
        const blobs = await nativeBlobs(store.gitdir, [...oids, '0'.repeat(40)]);
        expect(blobs?.has('0'.repeat(40))).toBe(false); // an id git does not have is left out
        for (const oid of oids) expect(Buffer.from(blobs!.get(oid)!)).toEqual(Buffer.from(await new GitStore(dir).readBlob(oid)));
        if (Object.keys(native).length > 0) compared++;
      }),
      { numRuns: 25 },
    );
    expect(compared).toBeGreaterThan(0);
  });

  it('preloaded blobs are served from memory, byte for byte', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    const files = Object.fromEntries(PATHS.map((p, i) => [p, `value: ${i}\n`]));
    const head = commitTree(dir, files);
    git(dir, 'repack', '-qad');
    git(dir, 'prune-packed');
    const store = new GitStore(dir);
    const changed = await new HistoryIndex(store).changedBetween(null, head);
    await store.preloadBlobs(Object.values(changed) as string[]);
    rmSync(join(dir, '.git/objects/pack'), { recursive: true, force: true }); // nothing left to read them from
    for (const [path, oid] of Object.entries(changed)) expect(Buffer.from(await store.readBlob(oid!)).toString()).toBe(files[path]);
  });
});
