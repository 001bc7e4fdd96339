/** A clock tests drive: `sleep` returns at once and moves time forward by what was asked. */
import type { Clock } from '../../src/base/clock.js';

export class FakeClock implements Clock {
  /** Every sleep asked for, in ms. */
  readonly sleeps: number[] = [];
  constructor(private time = Date.now()) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    await new Promise((r) => setImmediate(r));
  }

  /** Time passed since the clock was made or last reset. */
  elapsedSince(start: number): number {
    return this.time - start;
  }
}
