/**
 * First come, first served among processes waiting for the repository lock.
 * A waiter leaves a ticket in `.git/gitstate-lock-queue/` (named by the time it
 * started waiting) and tries the lock only when its ticket is the oldest; a
 * process that finds tickets waiting queues behind them rather than trying
 * first. Without it, the process that just released the lock, or whichever
 * waiter happened to wake first, could take it again and again. Tickets of
 * processes that are gone are removed by whoever finds them.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const QUEUE_DIR = 'gitstate-lock-queue';

export interface Waiter {
  pid: number;
  host: string;
  boot: string;
}

export class LockQueue {
  readonly dir: string;

  constructor(
    gitdir: string,
    private readonly isGone: (waiter: Waiter) => boolean,
    /** A ticket older than this is dropped whoever left it (another host's process that vanished). */
    private readonly maxAgeMs: number,
  ) {
    this.dir = join(gitdir, QUEUE_DIR);
  }

  /** Whether anyone is waiting (the cheap check an uncontended write makes). */
  anyWaiting(): boolean {
    try {
      return readdirSync(this.dir).length > 0;
    } catch {
      return false;
    }
  }

  /** Join the queue, offering `offers` (writes the holder may make: handoff.ts); returns the ticket's name. */
  join(now: number, waiter: Waiter, offers: unknown[] | null = null): string {
    const name = `${String(now).padStart(15, '0')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    mkdirSync(this.dir, { recursive: true });
    // an offer holds the values being written: readable by their owner alone, as the repository's objects are not
    writeFileSync(join(this.dir, name), JSON.stringify(offers ? { ...waiter, offers } : waiter), { mode: offers ? 0o600 : 0o644 });
    return name;
  }

  /**
   * The tickets that offer writes, first come first, up to the first live
   * waiter that offers none: the lock's holder makes these, and leaves those
   * behind that waiter to it (it holds the lock next), so a write that cannot be
   * handed over waits for one group, not for every offer queued after it. One
   * being written is skipped.
   */
  offered(now: number): Array<{ ticket: string; waiter: Waiter; offers: unknown[] }> {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch {
      return [];
    }
    const found: Array<{ ticket: string; waiter: Waiter; offers: unknown[] }> = [];
    for (const ticket of names) {
      try {
        const { offers, ...waiter } = JSON.parse(readFileSync(join(this.dir, ticket), 'utf8')) as Waiter & { offers?: unknown };
        if (Array.isArray(offers)) found.push({ ticket, waiter, offers });
        else if (!this.isDead(ticket, now)) break;
      } catch {
        // being written, or gone
      }
    }
    return found;
  }

  /**
   * The live ticket just ahead of `ticket`, or null when it is first. Each
   * waiter looks only at its predecessor (removing it when its process is
   * gone), so a dead ticket anywhere in the queue is found by the one behind it.
   */
  ahead(ticket: string, now: number): string | null {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch {
      return null;
    }
    const at = names.indexOf(ticket);
    if (at < 0) return null; // ours went missing (someone cleaned up): we are not behind anyone
    for (let i = at - 1; i >= 0; i--) {
      const name = names[i]!;
      if (!this.isDead(name, now)) return name;
      rmSync(join(this.dir, name), { force: true });
    }
    return null;
  }

  leave(ticket: string): void {
    rmSync(join(this.dir, ticket), { force: true });
  }

  private isDead(name: string, now: number): boolean {
    if (now - Number(name.slice(0, 15)) > this.maxAgeMs) return true;
    try {
      return this.isGone(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Waiter);
    } catch {
      return false; // being written, or just removed
    }
  }
}

/** This process, as a lock note, a queue ticket or a clone's mark names it (pid, host, boot). */
export function processHere(): Waiter {
  return { pid: process.pid, host: hostname(), boot: bootId() };
}

/** Whether the process a note names is provably gone: same host, and another boot or its pid not running. */
export function isGone(owner: Waiter): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.boot && owner.boot !== bootId()) return true; // the machine restarted since
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let boot: string | undefined;
/** Linux's id of this boot, so a lock left before a restart is known dead whatever pid it names. */
export function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      boot = '';
    }
  }
  return boot;
}
