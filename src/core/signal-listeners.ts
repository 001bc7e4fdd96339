/**
 * The SIGINT and SIGTERM listeners there are before proper-lockfile loads.
 * lock.ts imports this module just before proper-lockfile, whose signal-exit
 * adds listeners of its own as it loads: the difference is those listeners,
 * which state.json's exit flush must not take for the application handling
 * the signal (state/exit-flush.ts), whenever the lock module happened to load.
 */
export const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export const listenersBeforeLockfile: ReadonlySet<unknown> = new Set(EXIT_SIGNALS.flatMap((s) => process.listeners(s)));
