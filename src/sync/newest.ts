/**
 * `newest`: which side of a conflict holds the newer write of that value.
 *
 * A side's write is the commit that introduced the value the side holds now:
 * from the side's tip, follow the file's history back (through merge commits,
 * into whichever parent already held the same value) to the first commit whose
 * parents all held something else. A merge that only carried the value over
 * is not the write; a merge that made a new value is.
 *
 * Clocks differ between machines, so the rule (README, Sync) is:
 * 1. if one write is an ancestor of the other, the descendant wins: it was
 *    made over the other;
 * 2. a commit time more than SKEW_BOUND_S ahead of this machine's clock comes
 *    from a clock running fast and is not believed: that write loses to one
 *    with a believable time;
 * 3. otherwise the later commit time wins; a tie goes to theirs (the value the
 *    remote, and so every other machine, already has).
 */
import { isAncestor } from '../git/ancestry.js';
import type { GitStore } from '../git/store.js';
import type { HistoryIndex } from '../history/index-file.js';
import type { Segment } from '../base/keypath.js';
import { MISSING, type Side } from '../merge/merge3.js';
import { equal, idOf, isPlainObject } from '../merge/structure.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';

/** How far ahead of our clock a commit time may be before it is taken for a fast clock. */
export const SKEW_BOUND_S = 5 * 60;

export interface Write {
  commit: string;
  host?: string;
  /** Commit time, seconds since the epoch. */
  time: number;
}

/** Finds the write behind each side's value of one file; parsed versions are cached by blob. */
export class WriteFinder {
  private readonly parsed = new Map<string, unknown>();

  constructor(
    private readonly store: GitStore,
    private readonly index: HistoryIndex,
    private readonly path: string,
  ) {}

  /** The commit that introduced the value at `segments` (null: the whole file) that `tip` holds. */
  async introduced(tip: string, segments: readonly Segment[] | null): Promise<Write> {
    const held = await this.valueAt(tip, segments);
    let commit = tip;
    for (;;) {
      const record = this.index.get(commit);
      if (!record || record.p.length === 0) break;
      if (!(this.path in record.f)) {
        commit = record.p[0]!; // the file is as in the first parent
        continue;
      }
      let carried: string | null = null;
      for (const parent of record.p) {
        if (equal(await this.valueAt(parent, segments), held)) {
          carried = parent;
          break;
        }
      }
      if (!carried) break;
      commit = carried;
    }
    const record = this.index.get(commit);
    return { commit, host: record?.host, time: record?.t ?? 0 };
  }

  private async valueAt(commit: string, segments: readonly Segment[] | null): Promise<Side | string> {
    const blob = await this.store.blobOidAt(commit, this.path);
    if (segments === null) return blob ?? MISSING;
    if (!blob) return MISSING;
    if (!this.parsed.has(blob)) {
      let value: unknown = MISSING;
      try {
        value = getValue(parseStateText(decodeText(await this.store.readBlob(blob), this.path), this.path), []);
      } catch {
        // a version that does not parse holds no value at any key
      }
      this.parsed.set(blob, value);
    }
    return descend(this.parsed.get(blob), segments);
  }
}

/** The value at `segments` in plain data, MISSING where there is none. */
export function descend(value: unknown, segments: readonly Segment[]): Side {
  let node: unknown = value;
  for (const s of segments) {
    if (node === MISSING) return MISSING;
    if (s.kind === 'key') {
      if (isPlainObject(node) && Object.hasOwn(node, s.name)) node = node[s.name];
      else if (Array.isArray(node) && /^\d+$/.test(s.name)) node = node[Number(s.name)] ?? MISSING;
      else return MISSING;
    } else if (s.kind === 'index') {
      if (!Array.isArray(node)) return MISSING;
      node = node.at(s.index) ?? MISSING;
    } else {
      if (!Array.isArray(node)) return MISSING;
      node = node.find((item) => isPlainObject(item) && idOf(item, s.field) === s.value) ?? MISSING;
    }
  }
  return node as Side;
}

/** Which write is newer, by the rule above. `now` is this machine's clock, in seconds. */
export async function newer(store: GitStore, ours: Write, theirs: Write, now: number): Promise<'ours' | 'theirs'> {
  if (ours.commit !== theirs.commit) {
    if (await isAncestor(store, ours.commit, theirs.commit)) return 'theirs';
    if (await isAncestor(store, theirs.commit, ours.commit)) return 'ours';
  }
  const believable = (w: Write) => w.time <= now + SKEW_BOUND_S;
  if (believable(ours) !== believable(theirs)) return believable(ours) ? 'ours' : 'theirs';
  return ours.time > theirs.time ? 'ours' : 'theirs';
}
