/**
 * Whether the application handles a signal is judged as the signal comes: an
 * application's `process.once` listener, which goes as it runs, still counts,
 * and the exit flush then leaves the process to the application. (The end of
 * the process by the same signal, with no listener of the application, is
 * tested with real child processes in manager.test.ts.)
 */
import { describe, expect, it, vi } from 'vitest';
import { registerForExit, unregisterForExit } from '../../src/state/exit-flush.js';

describe('the exit flush on a signal', () => {
  for (const when of ['before', 'after'] as const) {
    it(`flushes, and leaves the process to an application whose process.once listener was added ${when} it`, async () => {
      let flushed!: () => void;
      const flush = new Promise<void>((resolve) => (flushed = resolve));
      const manager = {
        pendingCount: 1,
        async flushOrSetAside() {
          manager.pendingCount = 0;
          flushed();
        },
        async settled() {},
      };
      const application = vi.fn();
      if (when === 'before') process.once('SIGTERM', application);
      await registerForExit(manager);
      if (when === 'after') process.once('SIGTERM', application);
      const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
      try {
        (process.emit as (event: string, signal: string) => boolean)('SIGTERM', 'SIGTERM');
        await flush;
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        expect(application).toHaveBeenCalledTimes(1);
        expect(kill).not.toHaveBeenCalled();
      } finally {
        kill.mockRestore();
        unregisterForExit(manager);
        process.off('SIGTERM', application);
      }
    });
  }
});
