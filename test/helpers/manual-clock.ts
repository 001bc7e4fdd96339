/**
 * A clock only the test moves: `sleep` waits until `advance` carries time past
 * its end (or its signal aborts it). Tests wait for a sleep to be asked for,
 * then move time, so nothing depends on how fast the machine is.
 */
import type { Clock } from '../../src/base/clock.js';

interface Sleeper {
  at: number;
  ms: number;
  resolve: () => void;
}

export class ManualClock implements Clock {
  private sleepers: Sleeper[] = [];
  private listeners: Array<() => void> = [];
  /** Every sleep asked for, in ms, in order. */
  readonly asked: number[] = [];

  constructor(private time = Date.UTC(2026, 11, 1, 12, 0, 0)) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = { at: this.time + ms, ms, resolve };
      this.sleepers.push(sleeper);
      this.asked.push(ms);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      }, { once: true });
      for (const l of this.listeners.splice(0)) l();
    });
  }

  /** How long until the earliest sleep ends, once one is waiting. */
  async nextSleep(): Promise<number> {
    while (this.sleepers.length === 0) await new Promise<void>((r) => this.listeners.push(r));
    return Math.min(...this.sleepers.map((s) => s.at)) - this.time;
  }

  /** Move time forward, ending every sleep that is due by then. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.sleepers.filter((s) => s.at <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    for (const s of due) s.resolve();
  }

  /** Wait for the next sleep and move time to its end; returns how far time moved. */
  async advanceToNext(): Promise<number> {
    const ms = Math.max(0, await this.nextSleep());
    this.advance(ms);
    return ms;
  }
}
