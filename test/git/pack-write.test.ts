/**
 * Packs gitstate writes (src/git/pack-write.ts) for a group of commits, read
 * back by native git: the index is byte for byte what `git index-pack` makes
 * of the pack, every object reads back whole, small packs are merged once they
 * pile up, and packs git made are left alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPack, mergePacks, packEntry, wholeEntries, type PackObject } from '../../src/git/pack-write.js';
import { objectOid, type ObjectType } from '../../src/git/objects.js';
import { PackIndexes } from '../../src/git/packs.js';
import { assertRepoHealthy, cleanupTempDirs, commitCount, git, tempDir, tempRepo, writeAsGroup } from '../helpers/repo.js';
import type { StateRepo } from '../../src/core/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const packDir = (dir: string) => join(dir, '.git', 'objects', 'pack');
/** Once the writer is done: it merges packs after answering a group's writes, still holding the lock. */
const settled = (repo: StateRepo) => repo.locked(async () => undefined);
const packNames = (dir: string) => readdirSync(packDir(dir)).filter((n) => n.endsWith('.pack'));

function object(type: ObjectType, content: Uint8Array): PackObject {
  return { oid: objectOid(type, content), type, content };
}

/** A bare repository holding `pack` as its only pack. */
async function repoWithPack(built: { name: string; pack: Buffer; idx: Buffer }): Promise<string> {
  const dir = await tempDir();
  git(dir, 'init', '-q', '--bare');
  writeFileSync(join(dir, 'objects', 'pack', `pack-${built.name}.pack`), built.pack);
  writeFileSync(join(dir, 'objects', 'pack', `pack-${built.name}.idx`), built.idx);
  return dir;
}

describe('writing a pack', () => {
  it('is what native git reads: its index equals the one git index-pack makes, and every object reads back', async () => {
    const contents = fc.sample(fc.uint8Array({ maxLength: 3000 }), sized(40, 200, 'PACK_OBJECTS'));
    // sizes around the header's 4- and 7-bit boundaries, and nothing at all
    for (const size of [0, 15, 16, 127, 128, 2047, 2048, 70_000]) contents.push(new Uint8Array(size).fill(size % 251));
    const unique = new Map(contents.map((c) => [objectOid('blob', c), c]));
    const objects = [...unique.values()].map((c) => object('blob', c));
    const built = buildPack(objects.map(packEntry));
    const dir = await repoWithPack(built);
    const packPath = join(dir, 'objects', 'pack', `pack-${built.name}.pack`);
    // git's own index of the same pack (it checks every entry and the checksum as it goes)
    execFileSync('git', ['index-pack', '-o', join(dir, 'native.idx'), packPath], { cwd: dir, stdio: 'pipe' });
    expect(readFileSync(join(dir, 'native.idx')).equals(built.idx)).toBe(true);
    execFileSync('git', ['verify-pack', packPath.replace(/\.pack$/, '.idx')], { cwd: dir, stdio: 'pipe' });
    const reader = new PackIndexes(dir);
    reader.refresh();
    for (const o of objects) {
      expect(execFileSync('git', ['cat-file', 'blob', o.oid], { cwd: dir }).equals(Buffer.from(o.content))).toBe(true);
      expect(Buffer.from(reader.read(o.oid)!.content).equals(Buffer.from(o.content)), o.oid).toBe(true);
    }
    expect(reader.read(objectOid('blob', Buffer.from('not in the pack')))).toBeNull();
  });

  it('reads its entries back whole, and refuses a pack with deltas', async () => {
    const objects = ['a', 'b', 'c'].map((s) => object('blob', Buffer.from(`${s}\n`)));
    const built = buildPack(objects.map(packEntry));
    expect(wholeEntries(built.pack, built.idx)?.map((e) => e.oid).sort()).toEqual(objects.map((o) => o.oid).sort());
    // a pack native git made with deltas: similar blobs
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const line = 'x'.repeat(200);
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, 'f.txt'), `${line}\n${i}\n${line}\n`);
      git(dir, 'add', '.');
      git(dir, 'commit', '-qm', `c${i}`);
    }
    git(dir, 'repack', '-qad');
    const [pack] = packNames(dir);
    const base = join(packDir(dir), pack!.replace(/\.pack$/, ''));
    expect(git(dir, 'verify-pack', '-v', `${base}.idx`)).toMatch(/blob\s+\d+\s+\d+\s+\d+\s+1\s/); // a delta of depth 1
    expect(wholeEntries(readFileSync(`${base}.pack`), readFileSync(`${base}.idx`))).toBeNull();
  });

  it('merges packs by copying their entries: each object once, all readable', async () => {
    const a = ['1', '2', 'shared'].map((s) => object('blob', Buffer.from(s)));
    const b = ['3', 'shared'].map((s) => object('blob', Buffer.from(s)));
    const merged = mergePacks([a, b].map((objects) => wholeEntries(buildPack(objects.map(packEntry)).pack, buildPack(objects.map(packEntry)).idx)!));
    const dir = await repoWithPack(merged);
    const listed = git(dir, 'verify-pack', '-v', join(dir, 'objects', 'pack', `pack-${merged.name}.idx`));
    for (const o of [...a, ...b]) {
      expect(listed).toContain(o.oid);
      expect(execFileSync('git', ['cat-file', '-p', o.oid], { cwd: dir }).toString()).toBe(Buffer.from(o.content).toString());
    }
    expect(merged.pack.readUInt32BE(8)).toBe(4);
  });
});

describe('group commits write packs', () => {
  it('a group of writes is one pack; a write alone is loose objects; fsck clean, git reads it all', async () => {
    const repo = await tempRepo();
    const before = commitCount(repo.dir);
    await writeAsGroup(repo, Array.from({ length: 6 }, (_, i) => (r: StateRepo) => r.set(`projects/p${i % 2}/current_work`, 'test_status', `run ${i}`)));
    expect(commitCount(repo.dir)).toBe(before + 7);
    expect(packNames(repo.dir).length).toBeGreaterThan(0);
    const packed = packNames(repo.dir).length;
    await repo.set('knowledge', 'alone', true);
    expect(packNames(repo.dir)).toHaveLength(packed);
    assertRepoHealthy(repo.dir);
    expect(git(repo.dir, 'show', 'HEAD~1:projects/p1/current_work.yaml')).toContain('run 5');
    // the next write reads HEAD's trees from the pack (no isomorphic-git needed): still right
    await repo.set('projects/p0/current_work', 'branch', 'main');
    expect(await repo.get('projects/p0/current_work')).toEqual({ test_status: 'run 4', branch: 'main' });
    assertRepoHealthy(repo.dir);
  });

  it('small packs are merged once 16 pile up; a pack with a .keep is left alone', async () => {
    const repo = await tempRepo();
    // a pack git keeps: never merged away
    await repo.set('knowledge', 'kept', 1);
    git(repo.dir, 'repack', '-qd');
    const [keptPack] = packNames(repo.dir);
    writeFileSync(join(packDir(repo.dir), keptPack!.replace(/\.pack$/, '.keep')), '');
    let writes = 0;
    for (let group = 0; group < 20; group++) {
      await writeAsGroup(repo, Array.from({ length: 3 }, () => (r: StateRepo) => r.set('knowledge', `k${writes}`, writes++)));
    }
    await settled(repo);
    // every one of those commits went into a pack (none is loose), and they are in fewer than 16 packs now
    const commits = git(repo.dir, 'log', '--format=%H %s', '-80').trim().split('\n').filter((l) => l.includes(' set knowledge.yaml k'));
    expect(commits).toHaveLength(writes);
    for (const [commit] of commits.map((l) => l.split(' '))) expect(existsSync(join(repo.dir, '.git', 'objects', commit!.slice(0, 2), commit!.slice(2))), commit).toBe(false);
    const packs = packNames(repo.dir);
    expect(packs).toContain(keptPack);
    expect(packs.length).toBeLessThan(16);
    assertRepoHealthy(repo.dir);
    for (let i = 0; i < writes; i++) expect(await repo.get('knowledge', `k${i}`)).toBe(i);
    expect(git(repo.dir, 'rev-list', '--count', 'HEAD').trim()).toBe(String(commitCount(repo.dir)));
  });

  it('no merge while a multi-pack index names the packs (git maintenance): removing one would break it', async () => {
    const repo = await tempRepo();
    for (let i = 0; packNames(repo.dir).length < 15; i++) await writeAsGroup(repo, [(r) => r.set('knowledge', `a${i}`, i), (r) => r.set('knowledge', `b${i}`, i)]);
    git(repo.dir, 'multi-pack-index', 'write');
    await writeAsGroup(repo, [(r) => r.set('knowledge', 'c', 1), (r) => r.set('knowledge', 'd', 2)]);
    await settled(repo);
    expect(packNames(repo.dir)).toHaveLength(16);
    git(repo.dir, 'multi-pack-index', 'verify');
    assertRepoHealthy(repo.dir);
  });

  it('a damaged small pack is neither merged nor removed; the sound ones are', async () => {
    const repo = await tempRepo();
    for (let i = 0; packNames(repo.dir).length < 15; i++) await writeAsGroup(repo, [(r) => r.set('knowledge', `a${i}`, i), (r) => r.set('knowledge', `b${i}`, i)]);
    // one byte of one pack's data flipped: its checksum no longer matches
    const damaged = packNames(repo.dir)[0]!;
    const bytes = readFileSync(join(packDir(repo.dir), damaged));
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(join(packDir(repo.dir), damaged), bytes);
    // 16 packs: the damaged one does not count, so nothing is merged yet; at 17, the 16 sound ones are
    await writeAsGroup(repo, [(r) => r.set('knowledge', 'c', 1), (r) => r.set('knowledge', 'd', 2)]);
    await settled(repo);
    expect(packNames(repo.dir)).toHaveLength(16);
    await writeAsGroup(repo, [(r) => r.set('knowledge', 'e', 1), (r) => r.set('knowledge', 'f', 2)]);
    await settled(repo);
    const after = packNames(repo.dir);
    expect(after).toContain(damaged);
    expect(after).toHaveLength(2); // the damaged one, and the merge of the other sixteen
  });
});
