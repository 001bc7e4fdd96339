import { it } from 'vitest';
/**
 * The two tiers of the suite. `npm test` runs every suite in its quick form;
 * `npm run test:full` (which CI also runs) runs the suites listed in
 * vitest.config.ts's FULL_SUITES at full size. An environment variable named
 * by a suite still overrides both (CONVERGENCE_WRITES=1000 ...).
 */
export const FULL = process.env.GITSTATE_TEST_TIER === 'full';

/** `quick` in `npm test`, `full` in `npm run test:full`; `override` (an env var name) wins over both. */
export function sized(quick: number, full: number, override?: string): number {
  const raw = override ? process.env[override] : undefined;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${override}=${raw} is not a count`);
    return n;
  }
  return FULL ? full : quick;
}

/**
 * `it` for cases that only the full tier runs: the quick form of a suite keeps
 * its representative cases, and these show as skipped there ("full tier"), so
 * nothing is dropped silently. CI runs the full tier.
 */
export const itFull: typeof it = FULL ? it : (it.skip as typeof it);
