/**
 * The SIGINT and SIGTERM listeners there are before proper-lockfile loads.
 * lock.ts imports this module just before proper-lockfile, whose signal-exit
 * adds listeners of its own as it loads: the difference is those listeners,
 * which state.json's exit flush must not take for the application handling
 * the signal (state/exit-flush.ts), whenever the lock module happened to load.
 * Import it from lock.ts alone: the snapshot is taken when it first loads, and
 * an earlier load would count the application's later listeners as the lock's.
 */
export const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export const listenersBeforeLockfile: ReadonlySet<unknown> = new Set(EXIT_SIGNALS.flatMap((s) => process.listeners(s)));
