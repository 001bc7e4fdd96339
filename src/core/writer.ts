/**
 * The write pipeline: prepare → stage → publish → release.
 *
 * A write is a request whose `prepare` computes its commit from a view of the
 * repository (HEAD and the files as they stand). Requests are queued per
 * repository; the queue runs them in groups: take the lock, prepare each on top
 * of the previous one, stage each as its own commit (one commit per write),
 * publish the group with one round of fsyncs and one ref update, release the
 * lock, settle each request. A request that fails is dropped from its group
 * alone. When the branch moved under the group (a native commit got in first),
 * the whole group is prepared again on the new HEAD.
 *
 * Across processes, a group also takes the writes other processes offered while
 * they queued for the lock (handoff.ts): each is still its own commit, and the
 * group's one publication makes them all durable.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BranchMovedError, GitstateError, LockError, recordOfRejected, rejectedFromRecord } from '../errors.js';
import { readStateBytes } from '../base/files.js';
import { systemClock, type Clock } from '../base/clock.js';
import type { GitStore } from '../git/store.js';
import type { Stage } from '../git/stage.js';
import type { LockFileMade } from '../git/lockfile.js';
import { lockQueue, lockTimeoutMs, withRepoLock, type HeldLock, type LockOffer, type LockOptions } from './lock.js';
import { recoverInterrupted, type RecoveryReport } from './recovery.js';
import { findHandEdits } from './hand-edits.js';
import { claimOffer, claimOutcome, clearOffer, markDone, stageResults, sweepOffers, type Offer, type Results } from './handoff.js';
import { isGone, processHere, type LockQueue, type Waiter } from './lock-queue.js';
import { isAncestor } from '../git/ancestry.js';
import { crashPoint } from '../git/crash-points.js';
import type { FileChange, Person } from './types.js';

/** What a write sees: the commit it builds on, and the files as of that commit plus the work tree. */
export interface View {
  readonly store: GitStore;
  /** The commit this write builds on (an earlier write of its group, or HEAD). */
  readonly head: string | null;
  /** A file's bytes as this write sees them; null when absent. */
  read(path: string): Promise<Uint8Array | null>;
  /** The blob `path` has at `head`, or null. */
  blobAtHead(path: string): Promise<string | null>;
}

export interface PreparedCommit {
  changes: FileChange[];
  message: string;
  /** Further parents: a merge commit (made even when it changes no file). */
  otherParents?: string[];
}

/** Move the branch to an existing commit (a fast-forward); `changed` is path -> blob (null: removed). */
export interface PreparedAdvance {
  advance: { target: string; changed: Record<string, string | null> };
}

export interface WriteRequest {
  /** Compute the commit; null when there is nothing to commit. Throwing rejects this write alone. */
  prepare(view: View): Promise<PreparedCommit | PreparedAdvance | null>;
  author: Person;
  /** Check a commit as a whole before it is staged (the secret guard over its message, author and names). */
  checkCommit?: (commit: { message: string; author: Person; changes: readonly FileChange[]; parent: string | null; stage: Stage }) => Promise<void>;
  /** Check a hand-edited file before it is kept in a commit of its own (parse, schema, secrets). */
  checkFile: (path: string, bytes: Uint8Array) => Promise<void>;
  /** Run alone in its group (sync's merges and fast-forwards). */
  exclusive?: boolean;
  /** The caller already kept what is on disk (state reset moves it aside): no hand-edit pre-pass. */
  skipHandEdits?: boolean;
  /** This write as data, for the lock's holder to make when this process has to queue (handoff.ts); null when it cannot be. */
  offer?: () => Promise<Offer | null>;
  /** The commit's time zone, as Date's getTimezoneOffset, and its `Gitstate-Host` (default: this process's): those of the process a write was offered by. */
  timezoneOffset?: number;
  host?: string;
}

export interface WriteResult {
  /** The commit the write made, or HEAD when the write changed nothing. */
  commit: string;
  /** False when the result equalled what was there: no commit was made. */
  changed: boolean;
  /** Repo-relative paths the commit changed. */
  files: string[];
}

export interface WriterOptions extends LockOptions {
  /** Re-applications after the branch moved, before BRANCH_MOVED. */
  retries?: number;
  /** Writes at most in one group. */
  maxGroup?: number;
  /** The request that makes another process's offered write; without it, no offers are made or taken. */
  rebuild?: (offer: Offer) => Promise<WriteRequest>;
}

interface Queued {
  request: WriteRequest;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
  /** A holder handed this write back (it failed there): this process makes it. */
  handedBack?: boolean;
}

/** Offers taken from one waiter's ticket, and the requests that make them. */
interface Taken {
  ticket: string;
  waiter: Waiter;
  offers: Offer[];
  requests: WriteRequest[];
}

type Outcome = { result: WriteResult } | { error: unknown } | { handedBack: true };

const DEFAULT_RETRIES = 20;
const DEFAULT_MAX_GROUP = 64;

export class Writer {
  private readonly queue: Queued[] = [];
  private draining = false;
  private readonly clock: Clock;

  constructor(
    private readonly store: GitStore,
    private readonly options: WriterOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  submit(request: WriteRequest): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Run `fn` holding the repository lock, once any interrupted write is put right (`recovered` says what that took).
   * With an offer, the lock's holder may make the offered writes instead: `offer.handed` says what then.
   */
  locked<T>(fn: (lock: HeldLock, recovered: RecoveryReport) => Promise<T>, offer?: LockOffer<T>, settle?: (lock: HeldLock) => Promise<void>): Promise<T> {
    return withRepoLock(
      this.store.gitdir,
      this.options,
      async (lock) => {
        // what a holder that took our offer made of it, before anything here can fail and report it unmade
        await settle?.(lock);
        // HEAD must name main before anything is put back or written: an interrupted write's journal is main's
        await this.store.branch();
        const recovered = await recoverInterrupted(this.store, lock, this.publishOptions(lock));
        return fn(lock, recovered);
      },
      offer,
    );
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        let group = this.takeGroup();
        try {
          await this.locked(
            (lock) => this.runGroup(group, lock),
            this.offerOf(group),
            async (lock) => {
              if (lock.offered) group = await this.settleClaimed(group, lock.offered);
            },
          );
        } catch (err) {
          for (const item of group) item.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private takeGroup(): Queued[] {
    const first = this.queue.shift()!;
    if (first.request.exclusive) return [first];
    const group = [first];
    const max = this.options.maxGroup ?? DEFAULT_MAX_GROUP;
    while (group.length < max && this.queue.length > 0 && !this.queue[0]!.request.exclusive) group.push(this.queue.shift()!);
    return group;
  }

  /** The group's writes as an offer to the lock's holder, when every one of them can be told as data. */
  private offerOf(group: Queued[]): LockOffer<void> | undefined {
    if (!this.options.rebuild || group.some((item) => !item.request.offer || item.handedBack)) return undefined;
    return {
      make: async () => {
        const offers: Offer[] = [];
        for (const item of group) {
          const offer = await item.request.offer!();
          if (!offer) return null;
          offers.push(offer);
        }
        return offers;
      },
      handed: (results) => {
        // what the holder could not make is made here next, in order
        this.queue.unshift(...settleWith(group, results as Results).map((item) => ({ ...item, handedBack: true })));
      },
    };
  }

  private async runGroup(own: Queued[], lock: HeldLock): Promise<void> {
    const group = [...own];
    if (group.length === 0) return;
    const gitdir = this.store.gitdir;
    const queue = lockQueue(gitdir, this.options);
    const taking = Boolean(this.options.rebuild) && !group[0]!.request.exclusive;
    // a group's objects go into one pack (two files to make durable instead of three or more per
    // write), when it has several writes or offers are waiting to join it
    const packed = group.length > 1 || (taking && queue.anyWaiting());
    const retries = this.options.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const stage = await this.store.begin({ packed });
      // our own writes first: offers are claimed once they are prepared (a transaction may take its
      // time), and given up before they are prepared again, so a claimed offer waits for one publication
      const outcomes: Outcome[] = [];
      for (const { request } of group) outcomes.push(await this.tryStage(request, stage));
      const taken = taking ? await this.takeOffers(group.length, queue, lock) : [];
      if (taken.length > 0) crashPoint('offers-taken');
      const offered: Outcome[][] = [];
      for (const t of taken) offered.push(await this.prepareOffers(t, stage));
      // a waiter that died meanwhile (Ctrl-C) wants nothing made: its ticket goes, and the group is made again
      const gone = taken.filter((t) => isGone(t.waiter));
      if (gone.length > 0) {
        stage.abandon();
        for (const t of gone) queue.leave(t.ticket);
        for (const t of taken) clearOffer(gitdir, t.ticket);
        attempt--;
        continue;
      }
      const staged = new Set<Taken>();
      try {
        // what each offer's waiter finds if this process dies before it says they are done (a holder
        // taken over while frozen writes nothing more, not even results)
        if (taken.length > 0) lock.assertHeld();
        taken.forEach((t, i) => {
          stageResults(gitdir, t.ticket, resultsOf(offered[i]!));
          staged.add(t);
        });
        await stage.publish(this.publishOptions(lock));
      } catch (err) {
        if (err instanceof BranchMovedError && attempt < retries) {
          // nothing was published: the offers are given up while our own writes are prepared again
          for (const t of taken) clearOffer(gitdir, t.ticket);
          await this.clock.sleep(Math.random() * Math.min(2 ** attempt, 50));
          continue;
        }
        // A failure after the renames left a journal: put the work tree back before anyone else writes.
        if (!(err instanceof GitstateError)) await recoverInterrupted(this.store, lock, this.publishOptions(lock)).catch(() => undefined);
        // An offer not staged yet: its waiter makes its writes. A staged one may have been published (a
        // failure after the ref moved): its waiter settles it by the branch once it holds the lock.
        if (!(err instanceof LockError)) for (const t of taken) if (!staged.has(t)) clearOffer(gitdir, t.ticket);
        for (const item of group) item.reject(err);
        return;
      }
      // every result first, then the tickets, whose removal wakes their waiters: each finds its result at
      // once. Published already: a failure here leaves the staged results for the waiter to settle.
      try {
        for (const t of taken) markDone(gitdir, t.ticket);
        for (const t of taken) queue.leave(t.ticket);
      } catch {
        // the waiters settle by the branch
      }
      group.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if ('result' in outcome) item.resolve(outcome.result);
        else if ('error' in outcome) item.reject(outcome.error);
      });
      // small packs of group commits are merged once they pile up; a failure there loses nothing
      if (stage.wrotePack) await this.store.compactPacks().catch(() => undefined);
      return;
    }
  }

  /**
   * Claim the writes other processes offered while they queued (first come,
   * first served, while the group has room, up to the first waiter this holder
   * will not take), each as a request of its own whose outcome goes back to its waiter.
   */
  private async takeOffers(own: number, queue: LockQueue, lock: HeldLock): Promise<Taken[]> {
    const gitdir = this.store.gitdir;
    const max = this.options.maxGroup ?? DEFAULT_MAX_GROUP;
    const here = processHere();
    // what waiters that were killed while they waited left behind
    sweepOffers(gitdir);
    const waiting = queue.offered(this.clock.now());
    if (waiting.length === 0) return [];
    lock.assertHeld();
    const taken: Taken[] = [];
    let size = own;
    for (const { ticket, waiter, offers } of waiting) {
      // a dead waiter waits for nothing: its ticket (which holds its values) goes
      if (waiter.host === here.host && isGone(waiter)) {
        queue.leave(ticket);
        continue;
      }
      // a process on another host may not run the same gitstate: it holds the lock after those before it
      if (waiter.host !== here.host || size + offers.length > max) break;
      if (!claimOffer(gitdir, ticket, { state: 'claimed', by: here, waiter })) continue; // withdrawn, or claimed before
      let requests: WriteRequest[] | null = null;
      // a waiter that withdrew removes its ticket before its claim: no ticket, no offer
      if (existsSync(join(queue.dir, ticket))) requests = await Promise.all(offers.map((offer) => this.options.rebuild!(offer as Offer))).catch(() => null);
      if (!requests) {
        clearOffer(gitdir, ticket); // withdrawn, or not an offer this gitstate reads: its waiter makes its writes
        continue;
      }
      taken.push({ ticket, waiter, offers: offers as Offer[], requests });
      size += requests.length;
    }
    return taken;
  }

  /**
   * The lock is ours, but a holder claimed our offer while we waited and died
   * (or let go) before saying it was done: its staged commits that the branch
   * holds were published, and are settled here; the rest are ours to make.
   */
  private async settleClaimed(group: Queued[], ticket: string): Promise<Queued[]> {
    const gitdir = this.store.gitdir;
    const outcome = claimOutcome(gitdir, ticket);
    clearOffer(gitdir, ticket);
    if (!outcome) return group;
    // one publication made all of them or none: the branch holds a commit of one, or none was made
    const changed = outcome.results.flatMap((r) => (r && 'commit' in r && r.changed ? [r.commit] : []));
    const published = outcome.published === 'yes' || (changed.length > 0 && (await this.inBranch(changed[0]!)));
    // as the holder would have settled them; what it handed back (a suffix) is made here
    return published ? settleWith(group, outcome.results) : group;
  }

  /** Whether the branch holds `commit`. A commit that is not there at all was never published; an answer git cannot give is an error, not a no. */
  private async inBranch(commit: string): Promise<boolean> {
    const head = await this.store.headOid();
    if (head === null) return false;
    try {
      return await isAncestor(this.store, commit, head);
    } catch (err) {
      if (await this.store.readCommit(commit).then(() => true, () => false)) throw err;
      return false;
    }
  }

  /**
   * Prepare one waiter's offered writes in order. A write that fails with what
   * cannot go back as it is (see resultsOf) is handed back with every later one
   * of the ticket, unstaged: its process makes them, in their order.
   */
  private async prepareOffers(t: Taken, stage: Stage): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const [i, request] of t.requests.entries()) {
      const outcome = await this.tryStage(request, stage);
      if ('error' in outcome && !(t.offers[i]!.single && recordOfRejected(outcome.error))) {
        while (outcomes.length < t.requests.length) outcomes.push({ handedBack: true });
        break;
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /** Stage one write on the previous one; a failed write leaves the stage as it was. */
  private async tryStage(request: WriteRequest, stage: Stage): Promise<Outcome> {
    const mark = stage.mark();
    try {
      return { result: await this.stageOne(request, stage) };
    } catch (err) {
      stage.rollbackTo(mark);
      return { error: err };
    }
  }

  private async stageOne(request: WriteRequest, stage: Stage): Promise<WriteResult> {
    const view = this.viewOf(stage);
    const prepared = await request.prepare(view);
    const unchanged = { commit: stage.head ?? '', changed: false, files: [] };
    if (!prepared) return unchanged;
    if ('advance' in prepared) {
      await stage.advance(prepared.advance.target, prepared.advance.changed);
      return { commit: prepared.advance.target, changed: true, files: Object.keys(prepared.advance.changed) };
    }
    const { changes, message, otherParents } = prepared;
    if (changes.length === 0 && !otherParents?.length) return unchanged;
    const recovered = request.skipHandEdits ? null : await findHandEdits(this.store.dir, stage, changes, request.checkFile, request.host);
    await request.checkCommit?.({ message, author: request.author, changes, parent: stage.head, stage });
    if (recovered) await stage.commit({ ...recovered, author: request.author, timezoneOffset: request.timezoneOffset });
    const commit = await stage.commit({ changes, message, author: request.author, otherParents, timezoneOffset: request.timezoneOffset });
    return { commit, changed: true, files: changes.map((c) => c.path) };
  }

  private viewOf(stage: Stage): View {
    const dir = this.store.dir;
    const head = stage.head;
    return {
      store: this.store,
      head,
      read: async (path) => {
        const staged = stage.fileContent(path);
        return staged !== undefined ? staged : readStateBytes(dir, path);
      },
      blobAtHead: (path) => stage.blobOidAt(head, path),
    };
  }

  private publishOptions(lock: HeldLock) {
    return {
      lockTimeoutMs: lockTimeoutMs(this.options),
      clock: this.clock,
      assertLockHeld: () => lock.assertHeld(),
      onGitLock: (path: string, made: LockFileMade | null) => lock.noteGitLock(path, made),
    };
  }
}

/** Settle each write by its outcome from a holder: its result, or its input error; the rest (handed back) are returned, in order. */
function settleWith(group: Queued[], results: Results): Queued[] {
  const left: Queued[] = [];
  group.forEach((item, i) => {
    const outcome = results[i];
    const error = outcome && 'error' in outcome ? rejectedFromRecord(outcome.error) : null;
    if (error) item.reject(error);
    else if (outcome && 'commit' in outcome) item.resolve(outcome);
    else left.push(item);
  });
  return left;
}

/**
 * The outcomes of one waiter's offered writes. The input error of a single
 * operation of a StateRepo method goes back as it is. Any other failure hands
 * the write back (with the ticket's later writes: prepareOffers), to be made in
 * its own process: a batch names the line that failed, a flush says so in its
 * own terms, a write that keeps a secret its parent holds reports it there.
 */
function resultsOf(outcomes: Outcome[]): Results {
  return outcomes.map((outcome) => {
    if ('result' in outcome) return outcome.result;
    const error = 'error' in outcome ? recordOfRejected(outcome.error) : null;
    return error ? { error } : null;
  });
}
