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
 */
import { BranchMovedError, GitstateError } from '../errors.js';
import { readStateBytes } from '../base/files.js';
import { systemClock, type Clock } from '../base/clock.js';
import type { GitStore } from '../git/store.js';
import type { Stage } from '../git/stage.js';
import { withRepoLock, type HeldLock, type LockOptions, DEFAULT_LOCK_TIMEOUT_MS } from './lock.js';
import { recoverInterrupted, type RecoveryReport } from './recovery.js';
import { findHandEdits } from './hand-edits.js';
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
}

interface Queued {
  request: WriteRequest;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

type Outcome = { result: WriteResult } | { error: unknown };

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

  /** Run `fn` holding the repository lock, once any interrupted write is put right (`recovered` says what that took). */
  locked<T>(fn: (lock: HeldLock, recovered: RecoveryReport) => Promise<T>): Promise<T> {
    return withRepoLock(this.store.gitdir, this.options, async (lock) => {
      // HEAD must name main before anything is put back or written: an interrupted write's journal is main's
      await this.store.branch();
      const recovered = await recoverInterrupted(this.store, lock, this.publishOptions(lock));
      return fn(lock, recovered);
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        try {
          await this.locked((lock) => this.runGroup(group, lock));
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

  private async runGroup(group: Queued[], lock: HeldLock): Promise<void> {
    const retries = this.options.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      // a group's objects go into one pack: two files to make durable instead of three or more per write
      const stage = await this.store.begin({ packed: group.length > 1 });
      const outcomes = await this.prepareGroup(group, stage);
      try {
        await stage.publish(this.publishOptions(lock));
      } catch (err) {
        if (err instanceof BranchMovedError && attempt < retries) {
          await this.clock.sleep(Math.random() * Math.min(2 ** attempt, 50));
          continue;
        }
        // A failure after the renames left a journal: put the work tree back before anyone else writes.
        if (!(err instanceof GitstateError)) await recoverInterrupted(this.store, lock, this.publishOptions(lock)).catch(() => undefined);
        for (const item of group) item.reject(err);
        return;
      }
      group.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if ('result' in outcome) item.resolve(outcome.result);
        else item.reject(outcome.error);
      });
      // small packs of group commits are merged once they pile up; a failure there loses nothing
      if (stage.wrotePack) await this.store.compactPacks().catch(() => undefined);
      return;
    }
  }

  /** Prepare and stage each write of the group on the previous one; a failed write leaves the stage as it was. */
  private async prepareGroup(group: Queued[], stage: Stage): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const { request } of group) {
      const mark = stage.mark();
      try {
        outcomes.push({ result: await this.stageOne(request, stage) });
      } catch (err) {
        stage.rollbackTo(mark);
        outcomes.push({ error: err });
      }
    }
    return outcomes;
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
    const recovered = request.skipHandEdits ? null : await findHandEdits(this.store.dir, stage, changes, request.checkFile);
    await request.checkCommit?.({ message, author: request.author, changes, parent: stage.head, stage });
    if (recovered) await stage.commit({ ...recovered, author: request.author });
    const commit = await stage.commit({ changes, message, author: request.author, otherParents });
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
      lockTimeoutMs: this.options.timeoutMs ?? envNumber('GITSTATE_LOCK_TIMEOUT_MS') ?? DEFAULT_LOCK_TIMEOUT_MS,
      clock: this.clock,
      assertLockHeld: () => lock.assertHeld(),
      onGitLock: (path: string, ino: number | null) => lock.noteGitLock(path, ino),
    };
  }
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
