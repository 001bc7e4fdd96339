/**
 * Power loss at every step of a commit: the disk keeps only what was made
 * durable (file data fsynced, folder entries synced). After power returns the
 * repository is fsck-clean, every write acknowledged before the cut is there,
 * each write in flight is all there or not at all, and once gitstate has
 * opened the repository the work tree and index agree with HEAD. Once for one
 * commit (loose objects), once for a group of writes published together (a pack).
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { PowerCutDisk, PowerLost } from '../helpers/power-loss.js';
import { assertRepoHealthy, cleanupTempDirs, git, headOid, tempDir, tempRepo, writeAsGroup } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

/** `npm test` cuts the power after every fourth step (and after the last); `npm run test:full` after each. */
const STRIDE = sized(4, 1, 'POWER_CUT_STRIDE');
/** The pack merge has three times the steps: every ninth in `npm test`. */
const MERGE_STRIDE = sized(9, 1, 'POWER_CUT_STRIDE');

/** A write in flight when the power goes, and how to tell, after, whether it landed (all of it) or not (none of it). */
interface InFlight {
  run(repo: StateRepo): Promise<unknown>;
  /** True when it landed, false when nothing of it did; fails the test when it landed in part. */
  landed(repo: StateRepo): Promise<boolean>;
}

const packCount = (dir: string) => readdirSync(join(dir, '.git', 'objects', 'pack')).filter((n) => n.endsWith('.pack')).length;
const absent = (repo: StateRepo, file: string) => repo.get(file).then(() => false, (err: Error) => /does not exist/.test(err.message));

/** A change, a new file in a new folder, and a removal. */
const change: InFlight = {
  run: (repo) => repo.set('knowledge', 'step', 'new'),
  landed: async (repo) => {
    const step = await repo.get('knowledge', 'step');
    expect(['old', 'new']).toContain(step);
    return step === 'new';
  },
};
const newFile: InFlight = {
  run: (repo) => repo.write('notes/deep/new', 'made: in flight\n'),
  landed: async (repo) => {
    if (await absent(repo, 'notes/deep/new')) return false;
    expect(await repo.get('notes/deep/new', 'made')).toBe('in flight');
    return true;
  },
};
const removal: InFlight = {
  run: (repo) => repo.delete('shared_context'),
  landed: async (repo) => {
    if (await absent(repo, 'shared_context')) return true;
    expect(await repo.get('shared_context', 'kept')).toBe(true);
    return false;
  },
};

/** The three as one transaction: one commit. */
const transaction: InFlight = {
  run: (repo) =>
    repo.transaction(async (tx) => {
      await tx.set('knowledge', 'step', 'new');
      await tx.write('notes/deep/new', 'made: in flight\n');
      await tx.delete('shared_context');
    }),
  landed: async (repo) => {
    const parts = [await change.landed(repo), await newFile.landed(repo), await removal.landed(repo)];
    expect(new Set(parts).size, `a transaction landed in part: ${parts}`).toBe(1);
    return parts[0]!;
  },
};

describe('power loss during a commit', () => {
  it('at every step: fsck clean, acknowledged writes kept, the commit all or nothing', async () => {
    await cutAtEveryStep([transaction]);
  });

  it('at every step of a group commit (one pack): the same for each write of the group', async () => {
    await cutAtEveryStep([change, newFile, removal]);
  });

  it('at every step of a group commit that merges 16 small packs into one: the same, and no object lost', async () => {
    const fifteenPacks = async (base: StateRepo) => {
      // 15 packs of group commits: the next one makes 16
      for (let i = 0; packCount(base.dir) < 15; i++) await writeAsGroup(base, [(r) => r.set('knowledge', `a${i}`, i), (r) => r.set('knowledge', `b${i}`, i)]);
    };
    await cutAtEveryStep([change, newFile, removal], { setUp: fifteenPacks, stride: MERGE_STRIDE });
  });
});

/**
 * Run `writes` concurrently, cutting the power after each step they take (and
 * the work their writer does after them under the lock), and check what a
 * restart finds.
 */
async function cutAtEveryStep(writes: InFlight[], options: { setUp?: (base: StateRepo) => Promise<void>; stride?: number } = {}): Promise<void> {
  const { setUp, stride = STRIDE } = options;
  const base = await tempRepo();
  await setUp?.(base);
  await base.set('knowledge', 'step', 'old');
  await base.set('knowledge', 'acknowledged', 'before the cut');
  await base.set('shared_context', 'kept', true);
  const before = headOid(base.dir);
  const scratch = await tempDir();
  const runAll = async (repo: StateRepo) => {
    const results = await Promise.allSettled(writes.map((w) => w.run(repo)));
    // what the writer does after answering (merging packs) is done under the lock: wait for it
    await repo.locked(async () => undefined).catch((err: unknown) => {
      if (!(err instanceof PowerLost)) throw err;
    });
    return results;
  };

  // How many steps the whole thing takes; several writes are published as a group, in a pack.
  const probeDir = join(scratch, 'probe');
  cpSync(base.dir, probeDir, { recursive: true });
  const probe = new PowerCutDisk(probeDir);
  expect((await runAll(await StateRepo.open(probeDir, { disk: probe }))).every((r) => r.status === 'fulfilled')).toBe(true);
  expect(git(probeDir, 'rev-list', '--count', `${before}..HEAD`).trim()).toBe(String(writes.length));
  if (writes.length > 1) expect(readdirSync(join(probeDir, '.git', 'objects', 'pack')).some((n) => n.endsWith('.pack'))).toBe(true);
  const steps = probe.steps;
  expect(steps).toBeGreaterThan(10);
  if (setUp) expect(packCount(probeDir)).toBeLessThan(packCount(base.dir));

  const outcomes = { old: 0, new: 0 };
  const cuts = Array.from({ length: steps + 1 }, (_, cut) => cut).filter((cut) => cut % stride === 0 || cut === steps);
  for (const cut of cuts) {
    const live = join(scratch, `live-${cut}`);
    const image = join(scratch, `image-${cut}`);
    cpSync(base.dir, live, { recursive: true });
    const disk = new PowerCutDisk(live, cut);
    const acknowledged = (await runAll(await StateRepo.open(live, { disk }))).map((r) => {
      if (r.status === 'rejected' && !(r.reason instanceof PowerLost)) throw r.reason;
      return r.status === 'fulfilled';
    });
    if (cut >= steps) expect(acknowledged.every(Boolean)).toBe(true);
    disk.rebuild(image);
    // The machine restarted: nobody holds gitstate's lock any more.
    rmSync(join(image, '.git', 'gitstate.lock'), { recursive: true, force: true });

    git(image, 'fsck', '--strict', '--no-progress');
    // every commit's objects are there, whatever pack they ended up in
    git(image, 'rev-list', '--objects', '--all', '--missing=error');
    const after = await StateRepo.open(image);
    await after.recover();
    assertRepoHealthy(image);
    // a group's pack is released to git's gc, and none is left without its index
    const packFiles = readdirSync(join(image, '.git', 'objects', 'pack'));
    expect(packFiles.filter((n) => n.endsWith('.keep')), `cut ${cut}`).toEqual([]);
    for (const pack of packFiles.filter((n) => n.endsWith('.pack'))) expect(packFiles, `cut ${cut}`).toContain(pack.replace(/\.pack$/, '.idx'));
    expect(await after.get('knowledge', 'acknowledged')).toBe('before the cut');
    const landed: boolean[] = [];
    for (const write of writes) landed.push(await write.landed(after));
    writes.forEach((_, i) => {
      if (acknowledged[i]) expect(landed[i], `cut after step ${cut} of ${steps}: write ${i} acknowledged, then lost`).toBe(true);
    });
    // what landed is whole commits on top of what was there, one per write
    const count = landed.filter(Boolean).length;
    expect(git(image, 'rev-parse', `HEAD~${count}`).trim(), `cut ${cut}`).toBe(before);
    outcomes[count > 0 ? 'new' : 'old']++;
    rmSync(live, { recursive: true, force: true });
    rmSync(image, { recursive: true, force: true });
  }
  // Cuts before the ref's folder is synced lose the commit; the last ones keep it.
  expect(outcomes.old).toBeGreaterThan(0);
  expect(outcomes.new).toBeGreaterThan(0);
  console.log(`power cut after ${cuts.length} of the ${steps + 1} steps: ${outcomes.old} came back without the commits, ${outcomes.new} with them`);
}
