/**
 * The pack indexes (src/git/packs.ts): every object native git packed is
 * found, nothing else is, and a write never makes a loose copy of a packed object.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PackIndexes } from '../../src/git/packs.js';
import { cleanupTempDirs, git, tempDir, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

function looseCount(gitdir: string): number {
  let n = 0;
  for (const dir of readdirSync(join(gitdir, 'objects'))) if (/^[0-9a-f]{2}$/.test(dir)) n += readdirSync(join(gitdir, 'objects', dir)).length;
  return n;
}

describe('pack indexes', () => {
  it('hold exactly the objects native git packed', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    // enough objects that every first byte of an id occurs, so each fan-out range is searched
    for (let c = 0; c < 25; c++) {
      for (let f = 0; f < 100; f++) writeFileSync(join(dir, `f${f}.yaml`), `v: ${c * 100 + f}\n`);
      git(dir, 'add', '.');
      git(dir, 'commit', '-qm', `c${c}`);
    }
    git(dir, 'repack', '-qad');
    writeFileSync(join(dir, 'loose.yaml'), 'only: loose\n');
    const loose = git(dir, 'hash-object', '-w', 'loose.yaml').trim();
    const packed = git(dir, 'rev-list', '--objects', '--all').split('\n').map((l) => l.slice(0, 40)).filter(Boolean);
    expect(new Set(packed.map((oid) => oid.slice(0, 2))).size).toBe(256);
    const packs = new PackIndexes(join(dir, '.git'));
    expect(packs.has(packed[0]!)).toBe(false); // nothing loaded before refresh
    packs.refresh();
    for (const oid of packed) expect(packs.has(oid), oid).toBe(true);
    expect(packs.has(loose)).toBe(false);
    const known = new Set(packed);
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{40}$/), (oid) => {
        expect(packs.has(oid)).toBe(known.has(oid));
      }),
    );
    // a pack relied on is freshened, as git does, so a prune's grace period counts from now
    const packDir = join(dir, '.git/objects/pack');
    const pack = readdirSync(packDir).find((n) => n.endsWith('.pack'))!;
    utimesSync(join(packDir, pack), new Date(0), new Date(0));
    const fresh = new PackIndexes(join(dir, '.git'));
    fresh.refresh();
    expect(fresh.has(packed[0]!)).toBe(true);
    expect(statSync(join(packDir, pack)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    // a damaged index counts as holding nothing
    const idx = readdirSync(packDir).find((n) => n.endsWith('.idx'))!;
    const good = readFileSync(join(packDir, idx));
    writeFileSync(join(packDir, idx), 'not an index');
    const damaged = new PackIndexes(join(dir, '.git'));
    damaged.refresh();
    expect(damaged.has(packed[0]!)).toBe(false);
    writeFileSync(join(packDir, idx), good);
    // an index whose pack is gone holds nothing
    rmSync(join(packDir, pack));
    const orphan = new PackIndexes(join(dir, '.git'));
    orphan.refresh();
    expect(orphan.has(packed[0]!)).toBe(false);
  });

  it('a write takes packed objects as they are: no loose copy', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'a', 1);
    git(repo.dir, 'repack', '-qad');
    git(repo.dir, 'prune-packed');
    const store = await repo.store();
    const before = looseCount(store.gitdir);
    // the same content again in a new file: its blob is packed already
    const content = git(repo.dir, 'show', 'HEAD:knowledge.yaml');
    const blob = git(repo.dir, 'rev-parse', 'HEAD:knowledge.yaml').trim();
    await repo.commitFiles([{ path: 'copy.yaml', content: Buffer.from(content) }], { op: 'test', subject: 'copy a packed blob' });
    expect(git(repo.dir, 'rev-parse', 'HEAD:copy.yaml').trim()).toBe(blob);
    expect(existsSync(join(store.gitdir, 'objects', blob.slice(0, 2), blob.slice(2)))).toBe(false);
    expect(looseCount(store.gitdir)).toBe(before + 2); // the new root tree and the commit only
    expect(git(repo.dir, 'fsck', '--no-progress').trim()).toBe('');
  });
});
