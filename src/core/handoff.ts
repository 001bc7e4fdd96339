/**
 * Handing writes to the lock's holder: group commit across processes.
 *
 * A process that has to queue for the repository lock puts its pending writes
 * in its queue ticket when gitstate itself can tell them as data (an offer):
 * the single operations of StateRepo (set, append, delete, merge, write), a
 * batch, a StateManager flush; never a caller's transaction function, which may
 * read anything, anywhere, and must run under the lock. The holder claims the
 * offers queued behind it once its own writes are prepared, and makes each as
 * its own commit, as the offering process would have, in its group: one round
 * of fsyncs and one ref update for all of them instead of a lock turn each.
 *
 * Files in `.git/gitstate-handoff/` say how an offer went:
 *   - `<ticket>`, the claim: made with O_EXCL by the holder before it stages the
 *     writes. A waiter that gives up makes it first (withdrawn), and then no
 *     holder can;
 *   - `<ticket>.staged`: the results (their commits), written before the ref moves;
 *   - `<ticket>.done`: the same file renamed once the ref moved, before the
 *     holder removes the ticket (whose removal wakes the waiter).
 * A holder that fails before it staged an offer removes the claim. Once staged,
 * the files stay for the waiter: it takes the lock in its turn and keeps the
 * staged results if the branch holds them (all of a ticket's or none: one
 * publication), or makes its writes itself. A write the holder could not make
 * is handed back with the ticket's later writes (their order kept): its own
 * process makes them, and meets the error or the report itself.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeStatePath } from '../base/paths.js';
import { parseKeyPath } from '../base/keypath.js';
import { hostName } from './author.js';
import type { ErrorRecord } from '../errors.js';
import type { MessageOptions } from './message.js';
import type { TxOp } from './transaction.js';
import type { Person } from './types.js';
import type { WriteResult } from './writer.js';
import { isGone, processHere, type Waiter } from './lock-queue.js';

export const HANDOFF_DIR = 'gitstate-handoff';

/** This format: a holder takes only offers it reads exactly (another gitstate on this host may write another). */
export const OFFER_VERSION = 1;

/** Operations as gitstate tells them, and whether an input error of theirs may come back as it is. */
export interface ToldOps {
  ops: TxOp[];
  /** One operation of a StateRepo method: its input error is the same wherever it is made. */
  single: boolean;
}

/** One write, as data another process can make exactly as its own process would. */
export interface Offer extends ToldOps {
  v: typeof OFFER_VERSION;
  message: MessageOptions;
  author: Person;
  /** The commit's `Gitstate-Host` and time zone, as the offering process would write them. */
  host: string;
  timezoneOffset: number;
}

/** Who claimed an offer (a holder), or withdrew it (its waiter, giving up), and whose it is. */
export interface Claim {
  state: 'claimed' | 'withdrawn';
  by: Waiter;
  waiter: Waiter;
}

/**
 * A holder's outcome of each offered write: its result; the input error it
 * met (exit 3: the same as its own process would meet on the same files); or
 * null when it handed the write back (its own process makes it).
 */
export type Results = Array<WriteResult | { error: ErrorRecord } | null>;

const STAGED = '.staged';
const DONE = '.done';

/**
 * The offer for these operations, or null when they cannot be handed over
 * exactly: a value JSON would change (a Date, -0, a class instance...), or
 * anything the secret scanner finds, anywhere in the offer (a file name, a key,
 * a value, the note). A secret stays in its own process: the ticket is a file,
 * and the guard reports it there.
 */
export function makeOffer({ ops, single }: ToldOps, message: MessageOptions, author: Person, scan: (path: string, bytes: Uint8Array) => unknown[]): Offer | null {
  for (const op of ops) {
    let path: string;
    try {
      path = normalizeStatePath(op.file);
      if ((op.op === 'set' || op.op === 'append' || op.op === 'delete' || op.op === 'merge') && op.key) parseKeyPath(op.key);
    } catch {
      return null; // the error is its own process's to report
    }
    if (op.op === 'write') {
      if (typeof op.value !== 'string' || scan(path, Buffer.from(op.value)).length > 0) return null;
      continue;
    }
    if (op.op === 'delete') continue;
    const values =
      op.op === 'patch'
        ? [
            ...op.changes.map((c) => ({ segments: c.segments, value: c.deleted ? null : c.value })),
            ...Object.entries(op.mine).map(([name, value]) => ({ segments: [{ kind: 'key' as const, name }], value })),
          ]
        : [{ segments: op.key ? parseKeyPath(op.key) : [], value: op.value }];
    for (const { segments, value } of values) {
      if (!isPlainData(segments, 0) || !isPlainData(value, 0)) return null;
      // the value where the key path puts it (a map per name, a list per index), so a sensitive key is seen as in the file
      const nested = segments.reduceRight<unknown>((inner, s) => (s.kind === 'key' ? { [s.name]: inner } : [inner]), value);
      if (scan(path, Buffer.from(JSON.stringify(nested))).length > 0) return null;
    }
  }
  // the values were scanned where they go, above; names, notes and the author as they are (in JSON, escaped quotes would hide a secret)
  const names = [message.note, message.subject, author.name, author.email, ...ops.flatMap((op) => [op.file, 'key' in op ? op.key : undefined])];
  if (scan('offer', Buffer.from(names.filter((n) => typeof n === 'string').join('\n'))).length > 0) return null;
  return { v: OFFER_VERSION, ops, single, message, author, host: hostName(), timezoneOffset: new Date().getTimezoneOffset() };
}

/** Whether `offer` (read from another process's ticket) is one this gitstate makes exactly: its format and the shape of each part. */
export function isOffer(offer: unknown): offer is Offer {
  const o = offer as Partial<Offer> | null;
  const text = (v: unknown) => typeof v === 'string';
  const maybe = (v: unknown) => v === undefined || typeof v === 'string';
  if (o === null || typeof o !== 'object' || o.v !== OFFER_VERSION || typeof o.single !== 'boolean' || !Array.isArray(o.ops)) return false;
  if (!o.author || !text(o.author.name) || !text(o.author.email) || !text(o.host) || !Number.isFinite(o.timezoneOffset)) return false;
  if (!o.message || typeof o.message !== 'object' || !maybe(o.message.note) || !maybe(o.message.op) || !maybe(o.message.subject)) return false;
  return o.ops.every((op: TxOp) => {
    if (!op || typeof op !== 'object' || !text(op.file)) return false;
    switch (op.op) {
      case 'set':
      case 'append':
        return text(op.key) && op.value !== undefined;
      case 'merge':
        return maybe(op.key) && op.value !== undefined;
      case 'delete':
        return maybe(op.key);
      case 'write':
        return text(op.value);
      case 'patch':
        return Array.isArray(op.changes) && op.changes.every((c) => c && Array.isArray(c.segments) && typeof c.deleted === 'boolean') && !!op.mine && typeof op.mine === 'object';
      default:
        return false;
    }
  });
}

/** Data that JSON carries unchanged: null, booleans, strings, finite numbers but -0, dense arrays and plain objects (of Object.prototype) of those. */
function isPlainData(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || depth > 100) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainData(value[i], depth + 1)) return false;
    return Object.keys(value).length === value.length;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype || Object.getOwnPropertySymbols(value).length > 0) return false;
  return Object.values(value).every((v) => isPlainData(v, depth + 1));
}

function pathOf(gitdir: string, ticket: string, suffix = ''): string {
  return join(gitdir, HANDOFF_DIR, `${ticket}${suffix}`);
}

/** Take an offer (the holder) or withdraw it (its waiter): whoever makes the claim file first. False when it was there. */
export function claimOffer(gitdir: string, ticket: string, claim: Claim): boolean {
  mkdirSync(join(gitdir, HANDOFF_DIR), { recursive: true });
  try {
    writeFileSync(pathOf(gitdir, ticket), JSON.stringify(claim), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * The holder's results for a claimed offer, before the ref moves. No temp file
 * and no fsync: it is read only once its writer is done or gone (a torn file is
 * one written before its publication), and a power loss ends the waiter too.
 */
export function stageResults(gitdir: string, ticket: string, results: Results): void {
  writeFileSync(pathOf(gitdir, ticket, STAGED), JSON.stringify(results), { mode: 0o600 });
}

/** The ref moved: the staged results are final. */
export function markDone(gitdir: string, ticket: string): void {
  renameSync(pathOf(gitdir, ticket, STAGED), pathOf(gitdir, ticket, DONE));
}

/** The holder's results once it said they are published, or null. */
export function doneResults(gitdir: string, ticket: string): Results | null {
  return readResults(pathOf(gitdir, ticket, DONE));
}

/** What a claimed offer came to, read by its waiter once it holds the lock itself: done, staged (perhaps published), or nothing. */
export function claimOutcome(gitdir: string, ticket: string): { published: 'yes' | 'maybe'; results: Results } | null {
  const done = doneResults(gitdir, ticket);
  if (done) return { published: 'yes', results: done };
  const staged = readResults(pathOf(gitdir, ticket, STAGED));
  return staged ? { published: 'maybe', results: staged } : null;
}

/** Remove an offer's files: the holder's when it could not make the writes (its waiter then makes them), the waiter's when it is done with them. */
export function clearOffer(gitdir: string, ticket: string): void {
  for (const suffix of [STAGED, DONE, '']) rmSync(pathOf(gitdir, ticket, suffix), { force: true });
}

function readResults(path: string): Results | null {
  try {
    const results = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(results) ? (results as Results) : null;
  } catch {
    return null; // absent, or torn by a holder that died writing it
  }
}

/**
 * Remove the offer files of waiters on this host that are gone (killed while
 * they waited, or after they withdrew): by the waiter each claim names. A
 * waiter on another host is left to its own host's writers.
 */
export function sweepOffers(gitdir: string): void {
  let names: string[];
  try {
    names = readdirSync(join(gitdir, HANDOFF_DIR));
  } catch {
    return;
  }
  const host = processHere().host;
  for (const name of names) {
    if (name.includes('.')) continue; // staged and done results go with their claim
    let claim: Claim;
    try {
      claim = JSON.parse(readFileSync(pathOf(gitdir, name), 'utf8')) as Claim;
    } catch {
      continue; // being written, or removed meanwhile
    }
    if (claim.waiter?.host === host && isGone(claim.waiter)) clearOffer(gitdir, name);
  }
}
