/**
 * The pack indexes (src/git/packs.ts): every object native git packed is
 * found, nothing else is, and a write never makes a loose copy of a packed object.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { applyDelta, PackIndexes } from '../../src/git/packs.js';
import { buildPack } from '../../src/git/pack-write.js';
import { crc32, deflateSync } from 'node:zlib';
import { sized } from '../helpers/tier.js';
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
    for (const oid of packed) expect(packs.has(oid), oid).toBe(true); // the pack folder is looked at on first use
    expect(packs.read(loose)).toBeNull();
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
    // an index cut short (being written in place) holds nothing until it is whole
    writeFileSync(join(packDir, idx), good.subarray(0, good.length - 41));
    const cut = new PackIndexes(join(dir, '.git'));
    expect(cut.has(packed[0]!)).toBe(false);
    writeFileSync(join(packDir, idx), good);
    cut.refresh();
    expect(cut.has(packed[0]!)).toBe(true);
    // an index whose pack is gone holds nothing
    rmSync(join(packDir, pack));
    const orphan = new PackIndexes(join(dir, '.git'));
    orphan.refresh();
    expect(orphan.has(packed[0]!)).toBe(false);
  });

  it("a repack's .tmp files are not packs yet; an object in a pack too big to read here is left to isomorphic-git without listing the packs again", async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    writeFileSync(join(dir, 'big.bin'), randomBytes(2.5 * 1024 * 1024)); // incompressible: the pack is over 2 MiB
    writeFileSync(join(dir, 'small.yaml'), 'a: 1\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'one');
    git(dir, 'repack', '-qad');
    const packDir = join(dir, '.git/objects/pack');
    const small = git(dir, 'rev-parse', 'HEAD:small.yaml').trim();
    const packs = new PackIndexes(join(dir, '.git'));
    expect(packs.has(small)).toBe(true);
    const refresh = vi.spyOn(packs, 'refresh');
    expect(packs.read(small)).toBeNull(); // its pack is over 2 MiB
    expect(refresh).not.toHaveBeenCalled();
    // the same pack under a repack's temporary name holds nothing yet
    const base = readdirSync(packDir).find((n) => n.endsWith('.idx'))!.slice(0, -4);
    for (const ext of ['idx', 'pack']) renameSync(join(packDir, `${base}.${ext}`), join(packDir, `.tmp-1-${base}.${ext}`));
    const fresh = new PackIndexes(join(dir, '.git'));
    expect(fresh.has(small)).toBe(false);
  });

  it('read every object of a pack git made, deltas included (offset and by id), byte for byte as git cat-file', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const line = fc.constantFrom('a: 1', 'b: two', 'list:', '  - x', '  - y', 'nested:', '  key: value', '# comment', 'z: 3');
    const edit = fc.record({ file: fc.integer({ min: 0, max: 5 }), lines: fc.array(line, { maxLength: 30 }) });
    let deltas = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 2, maxLength: 12 }), fc.boolean(), async (edits, byOffset) => {
        rmSync(join(dir, '.git'), { recursive: true, force: true });
        git(dir, 'init', '-q');
        edits.forEach(({ file, lines }, i) => {
          writeFileSync(join(dir, `f${file}.yaml`), `${lines.join('\n')}\n`);
          git(dir, 'add', '.');
          git(dir, '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', `edit ${i}\n\nbody ${lines.join(' ')}`);
        });
        git(dir, '-c', `repack.useDeltaBaseOffset=${byOffset}`, 'repack', '-qadf', '--depth=50', '--window=50');
        const packDir = join(dir, '.git/objects/pack');
        const idx = readdirSync(packDir).find((n) => n.endsWith('.idx'))!;
        deltas += git(dir, 'verify-pack', '-v', join(packDir, idx)).split('\n').filter((l) => /^[0-9a-f]{40} +\w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length;
        const packs = new PackIndexes(join(dir, '.git'));
        for (const [oid, { type, content }] of allObjects(dir)) {
          const read = packs.read(oid);
          expect(read, oid).not.toBeNull();
          expect(read!.type).toBe(type);
          expect(read!.content.equals(content)).toBe(true);
        }
      }),
      { numRuns: sized(15, 100) },
    );
    expect(deltas).toBeGreaterThan(0);
  });

  it('a delta that does not fit its base reads as nothing', () => {
    const base = Buffer.from('hello world');
    // sizes 11 -> 5; copy 5 bytes from offset 6 ("world")
    expect(applyDelta(base, Buffer.from([11, 5, 0x91, 6, 5]))?.toString()).toBe("world");
    expect(applyDelta(base, Buffer.from([10, 5, 0x91, 6, 5]))).toBeNull(); // the base's size is wrong
    expect(applyDelta(base, Buffer.from([11, 5, 0x91, 8, 5]))).toBeNull(); // copies past the base's end
    expect(applyDelta(base, Buffer.from([11, 6, 0x91, 6, 5]))).toBeNull(); // shorter than it says
    expect(applyDelta(base, Buffer.from([11, 2, 0x00]))).toBeNull(); // the reserved instruction
    expect(applyDelta(base, Buffer.from([11, 3, 3, 0x61, 0x62, 0x63]))?.toString()).toBe('abc'); // an insert
    // a copy with no size bytes copies 0x10000 bytes
    const big = Buffer.alloc(0x10004, 7);
    const varint = (n: number) => {
      const bytes: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n & 0x7f) | 0x80);
      return [...bytes, n];
    };
    expect(applyDelta(big, Buffer.from([...varint(big.length), ...varint(0x10000), 0x80]))?.equals(Buffer.alloc(0x10000, 7))).toBe(true);
  });

  it('a by-id delta whose base is itself reads as nothing: a corrupt pack cannot loop', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const oid = 'ab'.repeat(20);
    const delta = Buffer.from([3, 3, 0x80 | 0x10, 3]); // 3 bytes -> 3 bytes, copied from its base
    const bytes = Buffer.concat([Buffer.from([(7 << 4) | delta.length]), Buffer.from(oid, 'hex'), deflateSync(delta)]);
    const built = buildPack([{ oid, bytes, crc: crc32(bytes) }]);
    writeFileSync(join(dir, '.git/objects/pack', `pack-${built.name}.pack`), built.pack);
    writeFileSync(join(dir, '.git/objects/pack', `pack-${built.name}.idx`), built.idx);
    const packs = new PackIndexes(join(dir, '.git'));
    expect(packs.has(oid)).toBe(true);
    expect(packs.read(oid)).toBeNull();
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

/** Every object of the repository, as git cat-file gives it. */
function allObjects(dir: string): Map<string, { type: string; content: Buffer }> {
  const out = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const objects = new Map<string, { type: string; content: Buffer }>();
  let at = 0;
  while (at < out.length) {
    const end = out.indexOf(10, at);
    const [oid, type, size] = out.toString('latin1', at, end).split(' ');
    objects.set(oid!, { type: type!, content: out.subarray(end + 1, end + 1 + Number(size)) });
    at = end + 1 + Number(size) + 1;
  }
  return objects;
}
