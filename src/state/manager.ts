/**
 * StateManager: `state.json`, the runtime state (sessions, persona, loaded tools).
 *
 * Reads and writes are synchronous against memory, so a process always reads its
 * own writes. Changes are remembered key by key and flushed — written and
 * committed — once they have been quiet for `debounceMs`, or `maxWaitMs` after
 * the first pending change (so a steady stream still flushes). A flush takes the
 * repository lock, re-reads state.json from disk and applies only this process's
 * pending changes, so two processes changing different keys both keep theirs.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, GitstateError, SchemaError } from '../errors.js';
import { parseKeyPath, type Segment } from '../base/keypath.js';
import { StateRepo, type RepoOptions, type WriteResult } from '../core/repo.js';
import { deleteAt, getAt, setAt } from './object-path.js';
import type { stateJson } from '../schema/builtin.js';
import { validateContent } from '../schema/validate.js';
import type * as z from 'zod';
import { registerForExit, unregisterForExit } from './exit-flush.js';
import { jsonErrorReason } from '../security/values.js';

export const STATE_FILE = 'state.json';

export interface StateManagerOptions extends RepoOptions {
  /** Flush once changes have been quiet this long (default 500 ms). */
  debounceMs?: number;
  /** ...or this long after the first pending change, whatever comes first (default 5000 ms). */
  maxWaitMs?: number;
  /** Reload automatically when another process changes state.json (default false). */
  watch?: boolean;
  /** Flush on normal exit, SIGINT and SIGTERM (default true). */
  flushOnExit?: boolean;
  /** Called with errors of background flushes (default: printed to stderr). */
  onError?: (err: unknown) => void;
}

/** state.json's content: typed by its schema (sessions, persona, tools), unknown keys kept. */
export type StateData = z.infer<typeof stateJson>;

/** state.json on disk is not JSON or breaks its schema: never overwritten silently. */
export class StateCorruptError extends GitstateError {
  readonly code = 'STATE_CORRUPT';
  readonly exitCode = ExitCode.rejected;
}

interface Pending {
  segments: Segment[];
  /** `undefined` means delete. */
  value: unknown;
  deleted: boolean;
  /** Bumped on every change of this key, so a flush removes only what it wrote. */
  version: number;
}

export class StateManager {
  private data: StateData;
  private readonly pending = new Map<string, Pending>();
  private readonly paths = new Map<string, Segment[]>();
  private version = 0;
  private lastChange = 0;
  private firstPending = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<WriteResult | null> | null = null;
  private watcher: FSWatcher | null = null;
  private closed = false;
  readonly debounceMs: number;
  readonly maxWaitMs: number;

  private constructor(
    readonly repo: StateRepo,
    data: StateData,
    private readonly options: StateManagerOptions,
  ) {
    this.data = data;
    this.debounceMs = options.debounceMs ?? 500;
    this.maxWaitMs = Math.max(options.maxWaitMs ?? 5000, this.debounceMs);
  }

  static async open(dir: string, options: StateManagerOptions = {}): Promise<StateManager> {
    const repo = await StateRepo.open(dir, options);
    const manager = new StateManager(repo, await readStateFile(repo.dir), options);
    if (options.flushOnExit !== false) await registerForExit(manager);
    if (options.watch) manager.startWatching();
    return manager;
  }

  // ---- memory: synchronous, read-your-writes --------------------------------

  /** The value at `key` (the whole state without one). Returns live data: don't mutate it. */
  get(key?: string): unknown {
    return key ? getAt(this.data, this.segments(key)) : this.data;
  }

  set(key: string, value: unknown): void {
    const segments = this.segments(key);
    const copy = value !== null && typeof value === 'object' ? structuredClone(value) : value;
    setAt(this.data, segments, copy);
    this.remember(key, segments, copy, false);
  }

  delete(key: string): void {
    const segments = this.segments(key);
    if (deleteAt(this.data, segments)) this.remember(key, segments, undefined, true);
  }

  /**
   * Change the state with a function that edits a draft (or returns a new
   * state). Every top-level key whose value changed becomes a pending change.
   */
  update(fn: (draft: StateData) => StateData | void): void {
    const draft = structuredClone(this.data);
    const next = fn(draft) ?? draft;
    const keys = new Set([...Object.keys(this.data), ...Object.keys(next)]);
    for (const key of keys) {
      if (!(key in next)) this.delete(key);
      else if (!sameJson(this.data[key], next[key])) this.set(key, next[key]);
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
      return await this.flushing;
    } finally {
      this.flushing = null;
      if (this.pending.size > 0 && !this.closed) this.arm();
    }
  }

  /** Pick up changes other processes flushed, keeping this process's pending changes on top. */
  async reload(): Promise<void> {
    const disk = await readStateFile(this.repo.dir);
    for (const change of this.pending.values()) apply(disk, change);
    this.data = disk;
  }

  /** Flush, stop watching, and stop flushing on exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.clearTimer();
      this.watcher?.close();
      this.watcher = null;
      unregisterForExit(this);
    }
  }

  private async flushOnce(): Promise<WriteResult> {
    const batch = [...this.pending.entries()].map(([key, p]) => ({ key, ...p }));
    let merged: StateData = {};
    const result = await this.repo.transaction(
      async (tx) => {
        // Re-read under the lock: other processes' flushes are kept, ours go on top key by key.
        merged = parseStateData(await tx.readText(STATE_FILE));
        for (const change of batch) apply(merged, change);
        await tx.write(STATE_FILE, `${JSON.stringify(merged, null, 2)}\n`);
      },
      { op: 'flush', subject: `flush ${STATE_FILE}: ${describeKeys(batch.map((b) => b.key))}` },
    );
    for (const change of batch) {
      if (this.pending.get(change.key)?.version === change.version) this.pending.delete(change.key);
    }
    // Memory becomes what was committed, plus whatever changed while we were flushing.
    for (const change of this.pending.values()) apply(merged, change);
    this.data = merged;
    return result;
  }

  private remember(key: string, segments: Segment[], value: unknown, deleted: boolean): void {
    if (this.closed) throw new StateClosedError();
    // Re-inserting keeps the map in order of last change, the order changes are replayed in.
    this.pending.delete(key);
    this.pending.set(key, { segments, value, deleted, version: ++this.version });
    const now = Date.now();
    this.lastChange = now;
    if (this.timer === null) {
      this.firstPending = now;
      this.arm();
    }
  }

  /** One timer at a time; when it fires it decides whether the quiet period or the max wait is over. */
  private arm(): void {
    if (this.timer !== null) return;
    if (this.firstPending === 0) this.firstPending = Date.now();
    const due = Math.min(this.lastChange + this.debounceMs, this.firstPending + this.maxWaitMs);
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    const now = Date.now();
    if (now < this.lastChange + this.debounceMs && now < this.firstPending + this.maxWaitMs) return this.arm();
    this.firstPending = 0;
    this.flush().catch((err: unknown) => (this.options.onError ?? defaultOnError)(err));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
        this.reload().catch((err: unknown) => (this.options.onError ?? defaultOnError)(err));
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

function apply(target: StateData, change: { segments: Segment[]; value: unknown; deleted: boolean }): void {
  if (change.deleted) deleteAt(target, change.segments);
  else setAt(target, change.segments, structuredCloneIfObject(change.value));
}

function structuredCloneIfObject(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
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

/** state.json's text (null: absent) as data, refused when corrupt or off its schema. */
export function parseStateData(text: string | null): StateData {
  if (text === null) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StateCorruptError(`${STATE_FILE} is not valid JSON (${jsonErrorReason(err, text)}); run "gitstate state reset" to move it aside and start fresh`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new StateCorruptError(`${STATE_FILE} must hold a JSON object; run "gitstate state reset" to move it aside and start fresh`);
  }
  try {
    validateContent(STATE_FILE, data);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    throw new StateCorruptError(`${err.message}; run "gitstate state reset" to move it aside and start fresh`);
  }
  return data as StateData;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describeKeys(keys: string[]): string {
  return keys.length <= 3 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')} and ${keys.length - 3} more`;
}

function defaultOnError(err: unknown): void {
  process.stderr.write(`gitstate: state.json flush failed: ${err instanceof Error ? err.message : String(err)}\n`);
}
