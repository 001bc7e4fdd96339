/**
 * Nothing acknowledged is lost on a graceful stop: open StateManagers flush
 * when the event loop drains (normal exit) and on SIGINT / SIGTERM. After a
 * signal the process then exits as it would have without us: by the same
 * signal, unless the application handles that signal itself.
 *
 * `process.exit()` cannot wait for a flush: call `await manager.close()` first.
 */
interface Flushable {
  /** Flush; on failure the pending changes are written aside, and the error says where. */
  flushOrSetAside(): Promise<unknown>;
  /** Resolves once the application has made no change for `quietMs` (at most `maxMs`). */
  settled(quietMs: number, maxMs: number): Promise<void>;
  readonly pendingCount: number;
}

/**
 * Between exit flushes, wait for the application to pause: a flush costs as
 * much as the whole state.json, so flushing again after every few changes of a
 * burst that goes on after the signal would cost the square of the burst.
 */
const QUIET_MS = 25;
const MAX_QUIET_WAIT_MS = 2_000;

const open = new Set<Flushable>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;
let flushingForExit: Promise<void> | null = null;
/**
 * Signal listeners our own dependencies install (proper-lockfile's signal-exit,
 * which re-raises the signal itself once it is the last listener). They are not
 * "the application handling the signal". The lock module knows them, whenever it
 * loaded (before this, by a write): it took the listeners before and after.
 */
let libraryListeners: ReadonlySet<unknown> = new Set();

export async function registerForExit(manager: Flushable): Promise<void> {
  libraryListeners = (await import('../core/lock.js')).lockfileSignalListeners;
  open.add(manager);
  if (!installed) {
    installed = true;
    process.on('beforeExit', onBeforeExit);
    // first among the listeners: when a signal comes, the application's own are all still there to
    // be seen, a `process.once` one included (it goes as it runs)
    for (const signal of SIGNALS) process.prependListener(signal, onSignal);
  }
}

export function unregisterForExit(manager: Flushable): void {
  open.delete(manager);
  if (open.size === 0 && installed) {
    installed = false;
    process.off('beforeExit', onBeforeExit);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}

/**
 * Flush every manager until none has pending changes. The application may keep
 * setting values while a flush runs; those are acknowledged too, so flush again
 * once it pauses. A flush that fails writes its pending changes aside (the
 * error says where), so nothing is pending after it and the loop ends.
 */
function flushAll(): Promise<void> {
  flushingForExit ??= (async () => {
    for (let round = 0; ; round++) {
      let pending = [...open].filter((m) => m.pendingCount > 0);
      if (pending.length === 0) break;
      if (round > 0) {
        await Promise.all(pending.map((m) => m.settled(QUIET_MS, MAX_QUIET_WAIT_MS)));
        pending = [...open].filter((m) => m.pendingCount > 0);
      }
      const results = await Promise.allSettled(pending.map((m) => m.flushOrSetAside()));
      let failed = false;
      for (const r of results) {
        if (r.status !== 'rejected') continue;
        failed = true;
        process.stderr.write(`gitstate: state.json flush on exit failed: ${String((r.reason as Error)?.message ?? r.reason)}\n`);
      }
      // Not even written aside (the disk refuses): trying again would fail again.
      if (failed && pending.some((m) => m.pendingCount > 0)) break;
    }
  })().finally(() => {
    flushingForExit = null;
  });
  return flushingForExit;
}

function onBeforeExit(): void {
  // Flushing schedules work, so the loop runs again and beforeExit fires again; stop when nothing is left.
  if ([...open].some((m) => m.pendingCount > 0)) void flushAll();
}

function onSignal(signal: NodeJS.Signals): void {
  // judged as the signal comes, before any listener of the application has run (and gone)
  const applicationHandles = process.listeners(signal).some((l) => l !== onSignal && !libraryListeners.has(l));
  void flushAll().then(() => {
    if (applicationHandles) return;
    // Nothing is pending now, and nothing can run before the signal lands: with no
    // listener left the default action (terminate) is immediate.
    for (const l of process.listeners(signal)) process.off(signal, l as (...args: unknown[]) => void);
    process.kill(process.pid, signal);
  });
}
