/**
 * Power loss at every step of a commit: the disk keeps only what was made
 * durable (file data fsynced, folder entries synced). After power returns the
 * repository is fsck-clean, every write acknowledged before the cut is there,
 * the commit in flight is all there or not at all, and once gitstate has
 * opened the repository the work tree and index agree with HEAD.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { PowerCutDisk, PowerLost } from '../helpers/power-loss.js';
import { assertRepoHealthy, cleanupTempDirs, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

/** `npm test` cuts the power after every fourth step (and after the last); `npm run test:full` after each. */
const STRIDE = sized(4, 1, 'POWER_CUT_STRIDE');

/** The commit under test: a change, a new file in a new folder, and a removal. */
async function commitInFlight(repo: StateRepo): Promise<void> {
  await repo.transaction(async (tx) => {
    await tx.set('knowledge', 'step', 'new');
    await tx.write('notes/deep/new', 'made: in flight\n');
    await tx.delete('shared_context');
  });
}

describe('power loss during a commit', () => {
  it('at every step: fsck clean, acknowledged writes kept, the commit all or nothing', async () => {
    const base = await tempRepo();
    await base.set('knowledge', 'step', 'old');
    await base.set('knowledge', 'acknowledged', 'before the cut');
    await base.set('shared_context', 'kept', true);
    const before = headOid(base.dir);
    const scratch = await tempDir();

    // How many steps a whole commit takes.
    const probeDir = join(scratch, 'probe');
    cpSync(base.dir, probeDir, { recursive: true });
    const probe = new PowerCutDisk(probeDir);
    await commitInFlight(await StateRepo.open(probeDir, { disk: probe }));
    const steps = probe.steps;
    expect(steps).toBeGreaterThan(10);

    const outcomes = { old: 0, new: 0 };
    const cuts = Array.from({ length: steps + 1 }, (_, cut) => cut).filter((cut) => cut % STRIDE === 0 || cut === steps);
    for (const cut of cuts) {
      const live = join(scratch, `live-${cut}`);
      const image = join(scratch, `image-${cut}`);
      cpSync(base.dir, live, { recursive: true });
      const disk = new PowerCutDisk(live, cut);
      const result = await commitInFlight(await StateRepo.open(live, { disk })).then(
        () => 'acknowledged',
        (err: unknown) => {
          if (!(err instanceof PowerLost)) throw err;
          return 'lost';
        },
      );
      if (cut >= steps) expect(result).toBe('acknowledged');
      disk.rebuild(image);
      // The machine restarted: nobody holds gitstate's lock any more.
      rmSync(join(image, '.git', 'gitstate.lock'), { recursive: true, force: true });

      git(image, 'fsck', '--strict', '--no-progress');
      const head = headOid(image);
      const landed = head !== before;
      if (result === 'acknowledged') expect(landed, `cut after step ${cut} of ${steps}: acknowledged, then lost`).toBe(true);
      if (landed) expect(git(image, 'rev-parse', 'HEAD~1').trim(), `cut ${cut}`).toBe(before);
      outcomes[landed ? 'new' : 'old']++;

      const after = await StateRepo.open(image);
      await after.recover();
      assertRepoHealthy(image);
      expect(await after.get('knowledge', 'acknowledged')).toBe('before the cut');
      expect(await after.get('knowledge', 'step'), `cut ${cut}`).toBe(landed ? 'new' : 'old');
      if (landed) {
        expect(await after.get('notes/deep/new', 'made')).toBe('in flight');
        await expect(after.get('shared_context')).rejects.toThrow(/does not exist/);
      } else {
        expect(await after.get('shared_context', 'kept')).toBe(true);
        await expect(after.get('notes/deep/new')).rejects.toThrow(/does not exist/);
      }
      rmSync(live, { recursive: true, force: true });
      rmSync(image, { recursive: true, force: true });
    }
    // Cuts before the ref's folder is synced lose the commit; the last ones keep it.
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.new).toBeGreaterThan(0);
    console.log(`power cut after ${cuts.length} of the ${steps + 1} steps: ${outcomes.old} came back without the commit, ${outcomes.new} with it`);
  });
});
