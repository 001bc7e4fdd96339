/**
 * Fault injection for the crash tests: with GITSTATE_CRASH_AT=<point> set, the
 * process kills itself with SIGKILL when a write reaches that point, so every
 * step of the write path can be crashed on purpose. Unset, this does nothing.
 * Points (git/stage.ts): locked, synced, rename-N (after the Nth rename of a
 * publication), renamed, ref-moved, published.
 */
const target = process.env.GITSTATE_CRASH_AT;

export function crashPoint(point: string): void {
  if (target !== undefined && target === point) process.kill(process.pid, 'SIGKILL');
}

export const crashPointsActive = target !== undefined;
