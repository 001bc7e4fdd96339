/**
 * Nothing acknowledged is lost on a graceful stop: open StateManagers flush
 * when the event loop drains (normal exit) and on SIGINT / SIGTERM. After a
 * signal the process then exits as it would have without us: by the same
 * signal, unless the application handles that signal itself.
 *
 * `process.exit()` cannot wait for a flush: call `await manager.close()` first.
 */
interface Flushable {
  flush(): Promise<unknown>;
}

const open = new Set<Flushable>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;
let flushingForExit: Promise<void> | null = null;

export function registerForExit(manager: Flushable): void {
  open.add(manager);
  if (!installed) {
    installed = true;
    process.on('beforeExit', onBeforeExit);
    for (const signal of SIGNALS) process.on(signal, onSignal);
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

function flushAll(): Promise<void> {
  flushingForExit ??= Promise.allSettled([...open].map((m) => m.flush())).then((results) => {
    flushingForExit = null;
    for (const r of results) {
      if (r.status === 'rejected') process.stderr.write(`gitstate: state.json flush on exit failed: ${String((r.reason as Error)?.message ?? r.reason)}\n`);
    }
  });
  return flushingForExit;
}

function onBeforeExit(): void {
  // Flushing schedules work, so the loop runs again and beforeExit fires again; stop when nothing is left.
  if ([...open].some((m) => (m as { pendingCount?: number }).pendingCount !== 0)) void flushAll();
}

function onSignal(signal: NodeJS.Signals): void {
  void flushAll().then(() => {
    const othersHandleIt = process.listenerCount(signal) > 1;
    if (othersHandleIt) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    process.kill(process.pid, signal);
  });
}
