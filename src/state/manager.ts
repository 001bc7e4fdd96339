/**
 * StateManager: `state.json`, the runtime state (sessions, persona, loaded tools).
 *
 * Reads and writes are synchronous against memory, so a process always reads its
 * own writes. A change is checked when it is made (schema, secret guard, size):
 * a bad value throws at once and never becomes pending, so it cannot fail the
 * flushes of the changes after it. Changes are remembered key by key and
 * flushed — written and committed — once they have been quiet for `debounceMs`,
 * or `maxWaitMs` after the first pending change (so a steady stream still
 * flushes). A flush takes the repository lock, re-reads state.json from disk
 * and applies only this process's pending changes, so two processes changing
 * different keys both keep theirs. A flush that fails (disk full, lock timeout)
 * keeps every pending change and is retried with exponential backoff; `close()`
 * that cannot flush writes the pending changes to `.gitstate/aside/` and says so.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, GitstateError, KeyPathError } from '../errors.js';
import { parseKeyPath, type Segment } from '../base/keypath.js';
import type { Clock } from '../base/clock.js';
import { StateRepo, type RepoOptions, type WriteResult } from '../core/repo.js';
import type { ToldOps } from '../core/handoff.js';
import { applyChange, deleteAt, getAt, setAt, type DataChange } from './object-path.js';
import { parseStateData, stateText, withChanges, type StateData } from './data.js';
import { registerForExit, unregisterForExit } from './exit-flush.js';
import { assertNoSecretAt, assertSchemaWith, loadStateRules, schemaCovers, storableCopy, type StateRules } from './checks.js';
import { STATE_FILE } from './corrupt.js';

export { parseStateData, type StateData } from './data.js';
export { STATE_FILE, StateCorruptError } from './corrupt.js';
export const ASIDE_DIR = '.gitstate/aside';

export interface StateManagerOptions extends Omit<RepoOptions, 'clock'> {
  /** Flush once changes have been quiet this long (default 500 ms). */
  debounceMs?: number;
  /** ...or this long after the first pending change, whatever comes first (default 5000 ms). */
  maxWaitMs?: number;
  /** First retry after a failed flush (default 250 ms); each further failure doubles it... */
  retryMinMs?: number;
  /** ...up to this (default 4000 ms). */
  retryMaxMs?: number;
  /** Reload automatically when another process changes state.json (default false). */
  watch?: boolean;
  /** Flush on normal exit, SIGINT and SIGTERM (default true). */
  flushOnExit?: boolean;
  /** Called with errors of background flushes (the changes stay pending and are retried) and of reloads (default: printed to stderr). */
  onError?: (err: unknown) => void;
  /** Called after each background flush that committed. */
  onFlush?: (result: WriteResult) => void;
  /** Drives the debounce and the retry backoff (default: real time, timers that never keep the process alive). */
  clock?: Clock;
}

/** Pending changes that could not be committed when the manager closed; they were written aside. The exit code is the cause's. */
export class StateFlushError extends GitstateError {
  readonly code = 'STATE_FLUSH';
  readonly exitCode: ExitCode;
  constructor(message: string, cause: unknown, data: Record<string, unknown>) {
    super(message, data);
    this.exitCode = cause instanceof GitstateError ? cause.exitCode : ExitCode.runtime;
  }
}

interface Pending {
  segments: Segment[];
  value: unknown;
  deleted: boolean;
  /** Bumped on every change of this key, so a flush removes only what it wrote. */
  version: number;
}

/** Timers as the manager needs them: a clock reading, and a cancellable callback after a delay. */
interface Timers {
  now(): number;
  /** A background timer: it never keeps the process alive. */
  after(ms: number, fn: () => void): () => void;
  /** A wait the process stays alive for (an exit flush waiting for a burst to end). */
  wait(ms: number): Promise<void>;
}

function timersOf(clock: Clock | undefined): Timers {
  if (!clock) {
    return {
      now: () => Date.now(),
      after: (ms, fn) => {
        const timer = setTimeout(fn, ms);
        timer.unref(); // pending changes never keep a process alive: the exit flush takes care of them
        return () => clearTimeout(timer);
      },
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  }
  return {
    now: () => clock.now(),
    after: (ms, fn) => {
      const abort = new AbortController();
      clock.sleep(ms, abort.signal).then(fn, () => undefined);
      return () => abort.abort();
    },
    wait: (ms) => clock.sleep(ms),
  };
}

export class StateManager {
  private data: StateData;
  private readonly pending = new Map<string, Pending>();
  private readonly paths = new Map<string, Segment[]>();
  private version = 0;
  private lastChange = 0;
  private firstPending = 0;
  /** Failed flushes in a row, and the earliest time the next background flush may run. */
  private failures = 0;
  private retryAt = 0;
  private cancelTimer: (() => void) | null = null;
  private flushing: Promise<WriteResult | null> | null = null;
  private watcher: FSWatcher | null = null;
  private closed = false;
  private readonly timers: Timers;
  readonly debounceMs: number;
  readonly maxWaitMs: number;

  private constructor(
    readonly repo: StateRepo,
    data: StateData,
    private rules: StateRules,
    private readonly options: StateManagerOptions,
  ) {
    this.data = data;
    this.debounceMs = options.debounceMs ?? 500;
    this.maxWaitMs = Math.max(options.maxWaitMs ?? 5000, this.debounceMs);
    this.timers = timersOf(options.clock);
  }

  static async open(dir: string, options: StateManagerOptions = {}): Promise<StateManager> {
    const { clock: _timersOnly, ...repoOptions } = options;
    const repo = await StateRepo.open(dir, repoOptions);
    const [data, rules] = await Promise.all([readStateFile(repo.dir), loadStateRules(repo.dir)]);
    const manager = new StateManager(repo, data, rules, options);
    if (options.flushOnExit !== false) await registerForExit(manager);
    if (options.watch) manager.startWatching();
    return manager;
  }

  // ---- memory: synchronous, read-your-writes, checked ----------------------

  /** The value at `key` (the whole state without one). Returns live data: don't mutate it. */
  get(key?: string): unknown {
    return key ? getAt(this.data, this.segments(key)) : this.data;
  }

  /** Set `value` at `key`. Throws (and changes nothing) when the value breaks the schema, the secret guard or a limit. */
  set(key: string, value: unknown): void {
    this.assertOpen();
    const segments = this.segments(key);
    const top = topKey(segments, key);
    const copy = storableCopy(value, key);
    assertNoSecretAt(segments, copy, this.rules.allow);
    if (schemaCovers(top, this.rules)) {
      // Work on a copy of this one top-level value, so a refused change leaves memory as it was.
      const next = segments.length === 1 ? copy : changed(this.data[top], segments, (root) => setAt(root, segments, copy));
      assertSchemaWith(this.data, new Map([[top, next]]), this.rules);
      setAt(this.data, segments.slice(0, 1), next);
    } else {
      setAtomically(this.data, segments, copy);
    }
    this.remember(key, segments, copy, false);
  }

  /** Remove the value at `key` (nothing happens when there is none). */
  delete(key: string): void {
    this.assertOpen();
    const segments = this.segments(key);
    const top = topKey(segments, key);
    if (getAt(this.data, segments) === undefined) return;
    if (schemaCovers(top, this.rules)) {
      const next = segments.length === 1 ? undefined : changed(this.data[top], segments, (root) => deleteAt(root, segments));
      assertSchemaWith(this.data, new Map([[top, next]]), this.rules);
      if (next === undefined) deleteAt(this.data, segments.slice(0, 1));
      else setAt(this.data, segments.slice(0, 1), next);
    } else {
      deleteAt(this.data, segments);
    }
    this.remember(key, segments, undefined, true);
  }

  /**
   * Change the state with a function that edits a draft (or returns a new
   * state). Every top-level key whose value changed becomes a pending change;
   * all of them are checked first, so either all are taken or none.
   */
  update(fn: (draft: StateData) => StateData | void): void {
    this.assertOpen();
    const draft = structuredClone(this.data);
    const next = fn(draft) ?? draft;
    const changes = new Map<string, unknown>();
    for (const key of new Set([...Object.keys(this.data), ...Object.keys(next)])) {
      if (!Object.hasOwn(next, key)) changes.set(key, undefined);
      else if (!sameJson(this.data[key], next[key])) changes.set(key, storableCopy(next[key], key));
    }
    const segments = new Map([...changes.keys()].map((key) => [key, [{ kind: 'key', name: key }] as Segment[]]));
    for (const [key, value] of changes) if (value !== undefined) assertNoSecretAt(segments.get(key)!, value, this.rules.allow);
    assertSchemaWith(this.data, changes, this.rules);
    for (const [key, value] of changes) {
      const path = segments.get(key)!;
      if (value === undefined) deleteAt(this.data, path);
      else setAt(this.data, path, value);
      this.remember(formatTop(key), path, value, value === undefined);
    }
  }

  /** Number of keys changed in memory and not yet flushed. */
  get pendingCount(): number {
    return this.pending.size;
  }

  // ---- disk: debounced, locked, one commit per flush ---------------------

  /** Write and commit the pending changes now. Resolves to the commit, or null when nothing was pending. */
  async flush(): Promise<WriteResult | null> {
    this.clearTimer();
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.pending.size === 0) return null;
    this.flushing = this.flushOnce();
    try {
      const result = await this.flushing;
      this.failures = 0;
      this.retryAt = 0;
      return result;
    } catch (err) {
      this.failures++;
      this.retryAt = this.timers.now() + this.backoffMs();
      throw err;
    } finally {
      this.flushing = null;
      if (this.pending.size > 0 && !this.closed) this.arm();
    }
  }

  /** Pick up changes other processes flushed, keeping this process's pending changes on top. */
  async reload(): Promise<void> {
    const [disk, rules] = await Promise.all([readStateFile(this.repo.dir), loadStateRules(this.repo.dir)]);
    for (const change of this.pending.values()) applyChange(disk, change);
    this.data = disk;
    this.rules = rules;
  }

  /**
   * Flush, stop watching, and stop flushing on exit. When the flush fails, the
   * pending changes are written to `.gitstate/aside/` and a StateFlushError says
   * where; nothing acknowledged is dropped.
   */
  /**
   * Drop the changes not committed yet: for a caller that reports a failed flush itself and whose
   * user retries (a one-shot command); nothing is then written aside on close.
   */
  discardPending(): void {
    this.pending.clear();
    this.clearTimer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flushOrSetAside();
    } finally {
      this.closed = true;
      this.clearTimer();
      this.watcher?.close();
      this.watcher = null;
      unregisterForExit(this);
    }
  }

  /** Flush; when that fails, write the pending changes aside and throw a StateFlushError naming the file. */
  async flushOrSetAside(): Promise<void> {
    try {
      await this.flush();
    } catch (err) {
      const count = this.pending.size;
      const aside = await this.setAside(err);
      throw new StateFlushError(
        `${STATE_FILE}: ${count} pending change(s) could not be committed (${err instanceof Error ? err.message : String(err)}); they were written to ${aside} (re-apply them with "gitstate state set")`,
        err,
        { aside, count },
      );
    }
  }

  /** Resolves once no change has been made for `quietMs` (or after `maxMs`): lets a burst finish before the next flush. */
  async settled(quietMs: number, maxMs: number): Promise<void> {
    const start = this.timers.now();
    for (;;) {
      const now = this.timers.now();
      const quietFor = now - this.lastChange;
      if (quietFor >= quietMs || now - start >= maxMs) return;
      await this.timers.wait(Math.min(quietMs - quietFor, maxMs - (now - start)));
    }
  }

  private async flushOnce(): Promise<WriteResult> {
    const batch = [...this.pending.entries()].map(([key, p]) => ({ key, ...p }));
    let merged: StateData | null = null;
    // Re-read the rules: an allow-list or user schema changed since is what the commit is checked against.
    this.rules = await loadStateRules(this.repo.dir);
    const result = await this.repo.transactionAs(
      async (tx) => {
        // Re-read under the lock: other processes' flushes are kept, ours go on top key by key.
        merged = withChanges(await tx.readText(STATE_FILE), batch, (top) => getAt(this.data, top));
        await tx.write(STATE_FILE, stateText(merged));
      },
      { op: 'flush', subject: `flush ${STATE_FILE}: ${describeKeys(batch.map((b) => b.key))}` },
      this.asPatch(batch),
    );
    // made by the lock's holder in our place: what it committed
    merged ??= parseStateData(await this.committedText(result.commit));
    for (const change of batch) {
      if (this.pending.get(change.key)?.version === change.version) this.pending.delete(change.key);
    }
    // Memory becomes what was committed, plus whatever changed while we were flushing.
    for (const change of this.pending.values()) this.replay(merged, change);
    this.data = merged;
    return result;
  }

  /**
   * The flush as an operation the lock's holder can make in this process's
   * place (handoff.ts): the changes, and this process's value of each
   * top-level key they are under, once, for a change that no longer fits
   * there (taken when the offer is made, not under the lock: a change this
   * process makes meanwhile waits for the next flush either way). Undefined
   * when it cannot be told.
   */
  private asPatch(batch: DataChange[]): ToldOps | undefined {
    const changes = batch.map((c) => ({ segments: c.segments, value: c.value, deleted: c.deleted }));
    // no prototype: a top-level key named __proto__ is a key like any other
    const mine: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const { segments } of batch) {
      const top = segments[0];
      if (top?.kind !== 'key') return undefined; // made here
      if (!Object.hasOwn(mine, top.name)) mine[top.name] = getAt(this.data, [top]);
    }
    return { ops: [{ op: 'patch', file: STATE_FILE, changes, mine }], single: false };
  }

  /** state.json's text in `commit` (null: absent). */
  private async committedText(commit: string): Promise<string | null> {
    const store = await this.repo.store();
    const blob = await store.blobOidAt(commit, STATE_FILE);
    return blob ? Buffer.from(await store.readBlob(blob)).toString('utf8') : null;
  }

  /**
   * Apply one of this process's changes on state.json as another process left
   * it. When the change no longer fits there (it sets `misc.a` and `misc` is now
   * a string, or a list it indexes got shorter), this process's whole value of
   * that top-level key is taken instead: a flush never fails on it, and the
   * value it replaces stays in history.
   */
  private replay(target: StateData, change: DataChange): void {
    applyChange(target, change, (top) => getAt(this.data, top));
  }

  /** Write the pending changes to `.gitstate/aside/` (not committed: committing is what failed) and forget them. */
  private async setAside(reason: unknown): Promise<string> {
    const stamp = new Date(this.timers.now()).toISOString().replace(/[:.]/g, '-');
    const path = `${ASIDE_DIR}/${STATE_FILE}.pending-${stamp}-${process.pid}.json`;
    const changes = [...this.pending.entries()].map(([key, p]) => (p.deleted ? { key, deleted: true } : { key, value: p.value }));
    const record = { error: reason instanceof Error ? reason.message : String(reason), changes };
    await mkdir(join(this.repo.dir, ASIDE_DIR), { recursive: true });
    await writeFile(join(this.repo.dir, path), `${JSON.stringify(record, null, 2)}\n`);
    this.pending.clear();
    return path;
  }

  private backoffMs(): number {
    const min = this.options.retryMinMs ?? 250;
    const max = this.options.retryMaxMs ?? 4000;
    return Math.min(max, min * 2 ** Math.min(this.failures - 1, 20));
  }

  private assertOpen(): void {
    if (this.closed) throw new StateClosedError();
  }

  private remember(key: string, segments: Segment[], value: unknown, deleted: boolean): void {
    // Re-inserting keeps the map in order of last change, the order changes are replayed in.
    this.pending.delete(key);
    this.pending.set(key, { segments, value, deleted, version: ++this.version });
    this.lastChange = this.timers.now();
    if (this.cancelTimer === null) {
      this.firstPending = this.lastChange;
      this.arm();
    }
  }

  /** One timer at a time; when it fires it decides whether the quiet period or the max wait is over, and honours the backoff. */
  private arm(): void {
    if (this.cancelTimer !== null) return;
    const now = this.timers.now();
    if (this.firstPending === 0) this.firstPending = now;
    const due = Math.max(this.retryAt, Math.min(this.lastChange + this.debounceMs, this.firstPending + this.maxWaitMs));
    this.cancelTimer = this.timers.after(Math.max(0, due - now), () => this.onTimer());
  }

  private onTimer(): void {
    this.cancelTimer = null;
    const now = this.timers.now();
    const due = Math.max(this.retryAt, Math.min(this.lastChange + this.debounceMs, this.firstPending + this.maxWaitMs));
    if (now < due) return this.arm();
    this.firstPending = 0;
    this.flush().then(
      (result) => {
        if (result) this.options.onFlush?.(result);
      },
      (err: unknown) => (this.options.onError ?? defaultOnError)(err),
    );
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.firstPending = 0;
  }

  private segments(key: string): Segment[] {
    let segments = this.paths.get(key);
    if (!segments) {
      segments = parseKeyPath(key);
      if (this.paths.size > 10_000) this.paths.clear();
      this.paths.set(key, segments);
    }
    return segments;
  }

  private startWatching(): void {
    let timer: NodeJS.Timeout | null = null;
    // Watch the folder: a flush replaces state.json by rename, which a watch on the file would lose.
    this.watcher = watch(this.repo.dir, (_event, name) => {
      if (name !== STATE_FILE || this.closed) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        this.reload().catch((err: unknown) => (this.options.onError ?? defaultOnReloadError)(err));
      }, 20);
    });
    this.watcher.unref();
  }
}

class StateClosedError extends GitstateError {
  readonly code = 'STATE_CLOSED';
  readonly exitCode = ExitCode.runtime;
  constructor() {
    super('this StateManager is closed');
  }
}

function topKey(segments: readonly Segment[], key: string): string {
  const first = segments[0];
  if (!first || first.kind !== 'key') throw new KeyPathError(`${STATE_FILE} is a map; key path "${key}" must start with a key`);
  return first.name;
}

function formatTop(key: string): string {
  return /^[^.[\]\s]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
}

/** The new value of the top-level key of `segments` after `edit`, made on a copy. */
function changed(current: unknown, segments: readonly Segment[], edit: (root: Record<string, unknown>) => unknown): unknown {
  const root: Record<string, unknown> = {};
  const top = (segments[0] as { name: string }).name;
  if (current !== undefined) setAt(root, segments.slice(0, 1), structuredClone(current));
  edit(root);
  return root[top];
}

/**
 * setAt, but a failure leaves `root` as it was: setAt creates missing maps on
 * the way down before it finds that the last segment does not fit (an index on
 * a map), and such a failure can only follow the creation of one map chain.
 */
function setAtomically(root: Record<string, unknown>, segments: readonly Segment[], value: unknown): void {
  let created: { parent: Record<string, unknown>; name: string; had: boolean; old: unknown } | null = null;
  let node: unknown = root;
  for (let i = 0; i < segments.length - 1 && !created; i++) {
    const segment = segments[i]!;
    let next: unknown;
    try {
      next = getAt(node, [segment]);
    } catch {
      break; // setAt throws on the same segment before changing anything
    }
    if (next === undefined || next === null) {
      if (segment.kind === 'key' && !Array.isArray(node)) {
        const parent = node as Record<string, unknown>;
        created = { parent, name: segment.name, had: Object.hasOwn(parent, segment.name), old: next };
      }
      break;
    }
    node = next;
  }
  try {
    setAt(root, segments, value);
  } catch (err) {
    if (created) {
      if (created.had) Object.defineProperty(created.parent, created.name, { value: created.old, enumerable: true, writable: true, configurable: true });
      else delete created.parent[created.name];
    }
    throw err;
  }
}

/** state.json as plain data: missing is empty; unparseable or off-schema is a StateCorruptError. */
export async function readStateFile(dir: string): Promise<StateData> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  return parseStateData(text);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describeKeys(keys: string[]): string {
  return keys.length <= 3 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')} and ${keys.length - 3} more`;
}

function defaultOnReloadError(err: unknown): void {
  process.stderr.write(`gitstate: state.json changed on disk but cannot be read; the state in memory is kept: ${err instanceof Error ? err.message : String(err)}\n`);
}

function defaultOnError(err: unknown): void {
  process.stderr.write(`gitstate: state.json flush failed (will retry): ${err instanceof Error ? err.message : String(err)}\n`);
}
