/**
 * Fault injection for the crash tests: with GITSTATE_CRASH_AT=<point> set, the
 * process kills itself with SIGKILL when a write reaches that point, so every
 * step of the write path can be crashed on purpose; `<point>@N` waits for the
 * Nth time this process reaches it (the second publication, say). Unset, this
 * does nothing. Points: clone-marked (sync/remote.ts: a clone has made its
 * .git and marked it as unfinished); lock-claimed (core/lock.ts: the repository lock's folder
 * is made and its note names this process); in git/stage.ts: locked, synced, rename-N (after the Nth
 * rename of a publication), renamed, ref-moved, published; in core/writer.ts: offers-taken (a
 * group holder has claimed the writes other processes offered).
 */
const [target, nth] = (process.env.GITSTATE_CRASH_AT ?? '').split('@');
/**
 * GITSTATE_CRASH_SIGNAL=SIGINT or SIGTERM: stopped as by Ctrl-C instead (handlers run, at the write's
 * next await); SIGSTOP: frozen there until the test sends SIGCONT (a suspended or starved process).
 */
const signal = (['SIGINT', 'SIGTERM', 'SIGSTOP'] as const).find((s) => s === process.env.GITSTATE_CRASH_SIGNAL) ?? 'SIGKILL';
let reached = 0;

export function crashPoint(point: string): void {
  if (target && target === point && ++reached >= Number(nth ?? 1)) process.kill(process.pid, signal);
}

export const crashPointsActive = Boolean(target);
