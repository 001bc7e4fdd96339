import { defineConfig } from 'vitest/config';

const full = process.env.GITSTATE_TEST_TIER === 'full';

/**
 * Suites with a larger form (test/helpers/tier.ts): `npm run test:full` runs
 * only these, at full size; `npm test` runs everything in its quick form.
 * test/tier.test.ts checks this list against the files that use the tier.
 */
export const FULL_SUITES = [
  'test/sync/convergence.test.ts',
  'test/concurrency/crash.test.ts',
  'test/state/manager.test.ts',
  'test/load/load.test.ts',
  'test/concurrency/native-git.test.ts',
  'test/concurrency/writers.test.ts',
  'test/sync/http-server.test.ts',
  'test/sync/ssh-server.test.ts',
  'test/input/hostile.test.ts',
  'test/yaml/corpus.test.ts',
  'test/concurrency/power-loss.test.ts',
  'test/sync/auto.test.ts',
  'test/hooks/hooks.test.ts',
  'test/sync/cli.test.ts',
  'test/git/gc.test.ts',
  'test/concurrency/crash-points.test.ts',
  'test/yaml/property.test.ts',
  'test/git/disk-changes.test.ts',
  'test/git/pack-write.test.ts',
  'test/git/index-patch.test.ts',
  'test/git/commit-parse.test.ts',
  'test/git/packs.test.ts',
  'test/security/file-scan.property.test.ts',
  'test/concurrency/handoff.test.ts',
  'test/sync/sync.test.ts',
  'test/sync/merge-records.test.ts',
];

export default defineConfig({
  test: {
    include: full ? FULL_SUITES : ['test/**/*.test.ts'],
    testTimeout: full ? 900_000 : 60_000,
    hookTimeout: 60_000,
    // Tests wait on the git, gitstate and server processes they start, and on fsync:
    // three workers keep this 2-core machine's cores busy (two left them idle 13% of the time).
    maxWorkers: 3,
    // A worker runs its files in one module graph: re-importing src/, yaml, isomorphic-git and
    // the MCP SDK for each of 60 files cost ~50 s of CPU. Suites keep no state between files
    // (each cleans its temp dirs and restores env and timers).
    isolate: false,
  },
});
