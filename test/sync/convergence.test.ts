/**
 * Three workstations write at random and sync at random points through a real
 * git server. At the end: identical trees, every append present, every value
 * either final, knowingly overwritten, or kept in a conflict record; fsck clean
 * everywhere; and the server's branch only ever moved forward.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { useGitServer } from '../helpers/server.js';
import { assertRepoHealthy, git, gitAsync, tempDir, tempRepo } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

const WRITES = sized(12, 500, 'CONVERGENCE_WRITES');

const gitServer = useGitServer();

/** A small seeded random generator, so a failing run can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) % 4294967296;
    return seed / 4294967296;
  };
}

describe('convergence', () => {
  it(`3 clones × ${WRITES} random writes with random syncs converge without losing a value`, async () => {
    const seed = Number(process.env.CONVERGENCE_SEED ?? Date.now() % 100000);
    const rnd = random(seed);
    const url = gitServer().createRepo('converge.git');
    const bare = join(gitServer().root, 'converge.git');
    const first = await tempRepo();
    await addRemote(first, 'origin', url);
    await sync(first);
    const clones: StateRepo[] = [first, await cloneRepo(url, join(await tempDir(), 'state')), await cloneRepo(url, join(await tempDir(), 'state'))];

    const appended: string[] = [];
    const written = new Map<string, Set<string>>(); // key -> values ever written
    const superseded = new Map<string, Set<string>>(); // key -> values a writer saw and replaced
    const serverTips: string[] = [git(bare, 'rev-parse', 'main').trim()];
    const note = (map: Map<string, Set<string>>, key: string, value: unknown) => {
      if (typeof value !== 'string') return;
      if (!map.has(key)) map.set(key, new Set());
      map.get(key)!.add(value);
    };
    const syncAndCheckServer = async (repo: StateRepo) => {
      await sync(repo, { strategy: rnd() < 0.5 ? 'newest' : rnd() < 0.5 ? 'ours' : 'theirs' });
      const tip = git(bare, 'rev-parse', 'main').trim();
      const previous = serverTips[serverTips.length - 1]!;
      if (tip !== previous) {
        expect((await gitAsync(bare, 'merge-base', '--is-ancestor', previous, tip)).code, 'the server branch moved backwards').toBe(0);
        serverTips.push(tip);
      }
    };

    for (let i = 0; i < WRITES; i++) {
      for (const [c, repo] of clones.entries()) {
        const roll = rnd();
        const env = `e${Math.floor(rnd() * 4)}`;
        if (roll < 0.4) {
          const item = `c${c}-${i}`;
          await repo.append(rnd() < 0.5 ? 'knowledge' : 'shared_context', 'log', item);
          appended.push(item);
        } else if (roll < 0.85) {
          const key = `${env}.namespace`;
          const value = `c${c}-${i}`;
          note(superseded, key, await repo.get('environments', key).catch(() => undefined));
          await repo.set('environments', key, value);
          note(written, key, value);
        } else {
          const current = (await repo.get('environments').catch(() => ({}))) as Record<string, { namespace?: string }>;
          if (current[env]) {
            note(superseded, `${env}.namespace`, current[env]!.namespace);
            await repo.delete('environments', env);
          }
        }
        if (rnd() < 0.08) await syncAndCheckServer(repo);
      }
    }
    // Sync round-robin until nothing moves.
    for (let round = 0; round < 3; round++) for (const repo of clones) await syncAndCheckServer(repo);

    const trees = clones.map((r) => git(r.dir, 'rev-parse', 'HEAD^{tree}').trim());
    expect(new Set(trees).size, `seed ${seed}`).toBe(1);
    const logs = [...(((await clones[0]!.get('knowledge', 'log').catch(() => [])) as string[]) ?? []), ...(((await clones[0]!.get('shared_context', 'log').catch(() => [])) as string[]) ?? [])];
    expect(new Set(logs).size, 'no append is duplicated').toBe(logs.length);
    expect(new Set(logs), `every append is present (seed ${seed})`).toEqual(new Set(appended));

    const records = (((await clones[0]!.get('.gitstate/conflicts.yaml').catch(() => ({}))) as { conflicts?: Array<{ key: string; file: string; ours: { value: unknown }; theirs: { value: unknown } }> }).conflicts ?? []);
    const inRecords = new Set(records.flatMap((r) => [JSON.stringify(r.ours.value), JSON.stringify(r.theirs.value)]));
    const final = (await clones[0]!.get('environments').catch(() => ({}))) as Record<string, { namespace?: string }>;
    for (const [key, values] of written) {
      const env = key.split('.')[0]!;
      for (const value of values) {
        const accounted =
          final[env]?.namespace === value ||
          superseded.get(key)?.has(value) ||
          inRecords.has(JSON.stringify(value)) ||
          // a whole environment record that lost a conflict carries the value inside it
          records.some((r) => JSON.stringify(r.ours.value).includes(JSON.stringify(value)) || JSON.stringify(r.theirs.value).includes(JSON.stringify(value)));
        expect(accounted, `${key}=${value} was lost (seed ${seed})`).toBe(true);
      }
    }
    for (const repo of clones) assertRepoHealthy(repo.dir);
    git(bare, 'fsck', '--strict', '--no-progress');
    console.log(`convergence (seed ${seed}): ${appended.length} appends, ${records.length} conflict records, server moved ${serverTips.length - 1} times, all forward`);
  }, 60_000 + WRITES * 1_000);
});
