/**
 * StateRepo: the library core. Every mutation is one write request:
 * prepare (read, apply at the key path, validate) → stage → publish → release,
 * run by the repository's Writer (writer.ts), which makes one commit per write.
 *
 * Reading (`get`, `list`) needs neither git nor the lock, so the write modules
 * (isomorphic-git, zod, proper-lockfile) are loaded on the first write only:
 * a one-shot `gitstate get` stays fast.
 */
// sync calls: node:fs/promises costs a CLI call ~2 ms to load, and these are single quick calls
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, RepoError } from '../errors.js';
import { getValue } from '../yaml/edit.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { parseKeyPath } from '../base/keypath.js';
import { normalizeStatePath, realDir, STATE_EXTENSIONS } from '../base/paths.js';
import { readStateBytes } from '../base/files.js';
import { stateRepoKind } from './discover.js';
import { assertFormatKnown } from './format.js';
import type { ContentCheck, ParsedFiles, Transaction, TxOp } from './transaction.js';
import type { GitStore } from '../git/store.js';
import type { Disk } from '../git/disk.js';
import type { HeldLock, LockOptions } from './lock.js';
import type { MessageOptions, OpName } from './message.js';
import type { RecoveryReport } from './recovery.js';
import type { FileChange, Person } from './types.js';
import type { PreparedAdvance, PreparedCommit, View, WriteRequest, WriteResult, Writer } from './writer.js';
import type { HeldSecret } from '../security/guard.js';
import type { Offer, ToldOps } from './handoff.js';
import type { SecretReport } from '../security/origin.js';

export type { FileChange, Person } from './types.js';
export type { WriteResult } from './writer.js';
export type { RecoveryReport } from './recovery.js';
export type { SecretReport } from '../security/origin.js';

export interface RepoOptions extends LockOptions {
  /** Commit author as "Name <email>"; default: see resolveAuthor. */
  author?: string;
  /** How writes change the disk (default node:fs); tests stand in between. */
  disk?: Disk;
}

export interface WriteOptions {
  /** A note added to the commit message (`-m`). */
  message?: string;
  /** The commit's operation and subject, for writes made on behalf of a higher-level command (flush, rollback...). */
  op?: OpName;
  subject?: string;
}

export interface ValidationResult {
  file: string;
  ok: boolean;
  error?: string;
  code?: string;
}

export type TxOps = Pick<Transaction, 'get' | 'readText' | 'set' | 'append' | 'delete' | 'merge' | 'write'>;

export class StateRepo {
  private storePromise: Promise<GitStore> | null = null;
  private writerPromise: Promise<Writer> | null = null;
  private authorPromise: Promise<Person> | null = null;
  private checksPromise: Promise<ContentCheck[]> | null = null;
  /** What this repo's writes read back, for its next writes to start from (transaction.ts). */
  private parsedFiles: ParsedFiles | null = null;

  protected constructor(
    /** Real path of the state directory (the work tree). */
    readonly dir: string,
    readonly options: RepoOptions = {},
    /** True when `init` created the repository in this call. */
    readonly created = false,
  ) {}

  get gitdir(): string {
    return join(this.dir, '.git');
  }

  /**
   * Open an existing state repository: refused when `dir` is no git repo, a git
   * repo gitstate never set up (`gitstate init` makes it one), or a repo of a
   * newer format than this gitstate knows (core/format.ts).
   */
  static async open(dir: string, options: RepoOptions = {}): Promise<StateRepo> {
    let real: string;
    try {
      real = await realDir(dir);
      statSync(join(real, '.git', 'HEAD'));
    } catch {
      throw new RepoError(`no state repository at ${dir}`, { dir });
    }
    if (!stateRepoKind(real)) throw new RepoError(`${dir} is a git repository that gitstate has not set up; make it a state repo with "gitstate --dir ${dir} init"`, { dir });
    assertFormatKnown(real);
    return new StateRepo(real, options);
  }

  /** Create the state repository (idempotent: an existing one is opened unchanged). */
  static async init(dir: string, options: RepoOptions = {}): Promise<StateRepo> {
    mkdirSync(dir, { recursive: true });
    const real = await realDir(dir);
    const { initRepository } = await import('./init.js');
    const created = await initRepository(real, options);
    return new StateRepo(real, options, created);
  }

  // ---- reading ------------------------------------------------------------

  /** The value at `key` in `file` (the whole file without a key), as plain data. */
  async get(file: string, key?: string): Promise<unknown> {
    const path = normalizeStatePath(file);
    const segments = key ? parseKeyPath(key) : [];
    const bytes = await readStateBytes(this.dir, path);
    if (!bytes) throw new NotFoundError(`${path} does not exist`);
    return getValue(parseStateText(decodeText(bytes, path), path), segments);
  }

  /** A state file's text as it is on disk (comments included). */
  async readText(file: string): Promise<string> {
    const path = normalizeStatePath(file);
    const bytes = await readStateBytes(this.dir, path);
    if (!bytes) throw new NotFoundError(`${path} does not exist`);
    return decodeText(bytes, path);
  }

  /** Repo-relative paths of the state files in the work tree. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const entries = readdirSync(join(this.dir, rel), { withFileTypes: true });
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && STATE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) out.push(path);
      }
    };
    await walk('');
    return out.sort();
  }

  /** Check files on disk (all state files by default): parse, schema, secret guard. */
  async validate(files?: string[]): Promise<ValidationResult[]> {
    const paths = files && files.length > 0 ? files.map(normalizeStatePath) : await this.list();
    const checks = await this.checks();
    const results: ValidationResult[] = [];
    for (const file of paths) {
      try {
        const bytes = await readStateBytes(this.dir, file);
        if (!bytes) throw new NotFoundError(`${file} does not exist`);
        await this.checkContent(file, bytes, checks, { secrets: true });
        results.push({ file, ok: true });
      } catch (err) {
        const e = err as Error & { code?: string };
        results.push({ file, ok: false, error: e.message, code: e.code });
      }
    }
    return results;
  }

  // ---- writing ------------------------------------------------------------

  set(file: string, key: string, value: unknown, options?: WriteOptions): Promise<WriteResult> {
    return this.operation({ op: 'set', file, key, value }, options);
  }

  append(file: string, key: string, value: unknown, options?: WriteOptions): Promise<WriteResult> {
    return this.operation({ op: 'append', file, key, value }, options);
  }

  /** Remove the value at `key`, or the file itself when `key` is omitted. */
  delete(file: string, key?: string, options?: WriteOptions): Promise<WriteResult> {
    return this.operation(key === undefined ? { op: 'delete', file } : { op: 'delete', file, key }, options);
  }

  merge(file: string, key: string | undefined, value: unknown, options?: WriteOptions): Promise<WriteResult> {
    return this.operation(key === undefined ? { op: 'merge', file, value } : { op: 'merge', file, key, value }, options);
  }

  write(file: string, text: string, options?: WriteOptions): Promise<WriteResult> {
    return this.operation({ op: 'write', file, value: text }, options);
  }

  /** One operation, as data: made here, or by the lock's holder when this process has to queue. */
  private operation(op: TxOp, options?: WriteOptions): Promise<WriteResult> {
    return this.transactionAs(null, options, { ops: [op], single: true });
  }

  /**
   * Run several operations, on one or several files, as one commit or none: if
   * `fn` throws, or any resulting file fails validation, nothing is written.
   * `fn` may run again when the branch moved under the write: keep it free of
   * side effects other than its operations.
   */
  transaction(fn: (tx: TxOps) => Promise<unknown>, options: WriteOptions = {}): Promise<WriteResult> {
    return this.transactionAs(fn, options);
  }

  /**
   * A transaction that gitstate also tells as operations (`told`: its own
   * methods, a batch, a StateManager flush): when this process has to queue,
   * the lock's holder may make them in `fn`'s place (handoff.ts), so they must
   * be what `fn` does (without `fn`, they are made as they are). A caller's
   * `transaction` is never handed over: its function may read anything, and
   * runs under the lock.
   * @internal
   */
  async transactionAs(fn: ((tx: TxOps) => Promise<unknown>) | null, options: WriteOptions = {}, told?: ToldOps): Promise<WriteResult> {
    const message = { note: options.message, op: options.op, subject: options.subject };
    return this.submit({
      prepare: await this.preparer(message, fn ?? told!.ops),
      // when this process has to queue for the lock, the holder may make this write (handoff.ts)
      offer: told
        ? async () => {
            const [{ makeOffer }, { scanFile }, author] = await Promise.all([import('./handoff.js'), import('../security/file-scan.js'), this.author()]);
            return makeOffer(told, message, author, scanFile);
          }
        : undefined,
    });
  }

  /**
   * A transaction's prepare step: `fn`, or the operations `ops` in order, on
   * the files as the write sees them, starting from what earlier writes read
   * back (ParsedFiles); the commit message from the operations made.
   */
  private async preparer(message: MessageOptions, run: ((tx: TxOps) => Promise<unknown>) | readonly TxOp[]): Promise<WriteRequest['prepare']> {
    const [{ Transaction, ParsedFiles, applyOp }, { commitMessage }, checks] = await Promise.all([import('./transaction.js'), import('./message.js'), this.checks()]);
    const parsed = (this.parsedFiles ??= new ParsedFiles());
    return async (view) => {
      const tx = new Transaction(view.read, parsed);
      if (typeof run === 'function') await run(tx);
      else for (const op of run) await applyOp(tx, op);
      const changes = await tx.finish(checks);
      return { changes, message: commitMessage(tx.ops, message) };
    };
  }

  /** The request that makes a write another process offered (handoff.ts), as that process would have made it. */
  private async replay(offer: Offer): Promise<WriteRequest> {
    const { isOffer } = await import('./handoff.js');
    if (!isOffer(offer)) throw new RepoError('not an offer this gitstate reads');
    return this.fullRequest(
      {
        prepare: await this.preparer({ ...offer.message, host: offer.host }, offer.ops),
        timezoneOffset: offer.timezoneOffset,
        host: offer.host,
      },
      offer.author,
      (held) => {
        // a secret a parent holds is reported to the writer: its own process makes it
        if (held.length > 0) throw new RepoError('the write keeps a secret its parent holds');
      },
    );
  }

  /**
   * Commit whole files as given (null removes one): for commands built on the
   * core, such as rollback, revert, state reset and sync's merges. Each content
   * is checked like any write: state files must parse and pass their schema and
   * the secret guard; anything else is scanned for secrets. Files already equal
   * to HEAD are skipped. `otherParents` makes a merge commit.
   */
  async commitFiles(
    files: readonly FileChange[],
    message: MessageOptions & { op: OpName },
    options: {
      /** The caller already kept what is on disk (state reset moves it aside): skip the hand-edit check. */
      diskKept?: boolean;
      /** Further parents: a merge commit (made even when it changes no file). */
      otherParents?: string[];
      /** The files were computed against this HEAD: BranchMovedError when the branch is elsewhere. */
      expectedHead?: string | null;
    } = {},
  ): Promise<WriteResult> {
    const [{ commitMessage }, checks] = await Promise.all([import('./message.js'), this.checks()]);
    return this.submit({
      exclusive: Boolean(options.otherParents?.length),
      skipHandEdits: options.diskKept,
      prepare: async (view): Promise<PreparedCommit> => {
        if (options.expectedHead !== undefined && view.head !== options.expectedHead) {
          const { BranchMovedError } = await import('../errors.js');
          throw new BranchMovedError(options.expectedHead, view.head);
        }
        const changes: FileChange[] = [];
        for (const file of files) {
          const oid = file.content ? view.store.hashBlob(file.content) : null;
          // a merge takes a file as the other parent has it, unchecked, as a fast-forward would: that
          // commit brought it (and the parse of a write to it says what is wrong); anything new is checked
          const parentHasIt = oid !== null && options.otherParents?.length ? await Promise.all(options.otherParents.map((p) => view.store.blobOidAt(p, file.path))).then((blobs) => blobs.includes(oid)) : false;
          if (file.content && !parentHasIt) await this.checkContent(file.path, file.content, checks);
          if (oid !== (await view.blobAtHead(file.path))) changes.push(file);
        }
        const ops = changes.map((c) => ({ op: message.op, file: c.path }));
        return { changes, message: commitMessage(ops, message), otherParents: options.otherParents };
      },
    });
  }

  /**
   * Fast-forward the branch from `expected` to the existing commit `target`
   * (sync). `changed` is every path that differs (path -> blob, null: removed).
   * BranchMovedError when the branch is no longer at `expected`.
   */
  async advance(expected: string | null, target: string, changed: Record<string, string | null>): Promise<WriteResult> {
    const { BranchMovedError } = await import('../errors.js');
    return this.submit({
      exclusive: true,
      prepare: async (view: View): Promise<PreparedAdvance> => {
        if (view.head !== expected) throw new BranchMovedError(expected, view.head);
        return { advance: { target, changed } };
      },
    });
  }

  /** Run `fn` holding the repository lock, after finishing any interrupted write (gc). */
  async locked<T>(fn: (ctx: { store: GitStore; lock: HeldLock }) => Promise<T>): Promise<T> {
    const [writer, store] = await Promise.all([this.writer(), this.store()]);
    return writer.locked((lock) => fn({ store, lock }));
  }

  /** Put right what an interrupted write left (see recovery.ts), and say what that was. */
  async recover(): Promise<RecoveryReport> {
    const writer = await this.writer();
    return writer.locked(async (_lock, recovered) => recovered);
  }

  /** The git layer, for modules built on the core (history, sync, status). */
  store(): Promise<GitStore> {
    this.storePromise ??= import('../git/store.js').then(({ GitStore }) => new GitStore(this.dir, { disk: this.options.disk }));
    return this.storePromise;
  }

  author(): Promise<Person> {
    this.authorPromise ??= Promise.all([import('./author.js'), this.store()]).then(([{ resolveAuthor }, store]) => resolveAuthor(store, this.options.author));
    return this.authorPromise;
  }

  /** Checks every content passes before it is committed: its schema. (The secret guard checks each commit as a whole: see submit.) */
  checks(): Promise<ContentCheck[]> {
    this.checksPromise ??= Promise.all([import('../schema/check.js'), import('../schema/user.js')]).then(([{ checkSchemas }, { loadUserSchemas }]) => [
      async (path: string, value: unknown) => checkSchemas(path, value, await loadUserSchemas(this.dir)),
    ]);
    return this.checksPromise;
  }

  /** Check file bytes as a write would (parse, schema, secret guard); throws the same errors. */
  async checkFileContent(path: string, bytes: Uint8Array): Promise<void> {
    return this.checkContent(path, bytes, await this.checks(), { secrets: true });
  }

  /**
   * Every commit passes the secret guard (security/guard.ts) before it is
   * staged; a secret a parent already held is kept and reported in `secrets`.
   */
  private async submit(request: Omit<WriteRequest, 'author' | 'checkFile'>): Promise<WriteResult & { secrets?: SecretReport[] }> {
    const [writer, author, store] = await Promise.all([this.writer(), this.author(), this.store()]);
    let held: HeldSecret[] = [];
    const result = await writer.submit(await this.fullRequest(request, author, (found) => (held = found)));
    if (held.length === 0) return result;
    const { reportHeld } = await import('../security/origin.js');
    return { ...result, secrets: await reportHeld(store, result.commit, held) };
  }

  /**
   * A write request with the checks every write passes: content checks on hand
   * edits, the secret guard over the commit. `onHeld` is told the secrets its
   * parents already held (none, each time the write is prepared again).
   */
  private async fullRequest(request: Omit<WriteRequest, 'author' | 'checkFile'>, author: Person, onHeld: (held: HeldSecret[]) => void): Promise<WriteRequest> {
    const [checks, store, { stageGuard }] = await Promise.all([this.checks(), this.store(), import('../security/guard.js')]);
    let otherParents: readonly string[] = [];
    return {
      ...request,
      prepare: async (view) => {
        const prepared = await request.prepare(view);
        otherParents = prepared && 'changes' in prepared ? (prepared.otherParents ?? []) : [];
        onHeld([]);
        return prepared;
      },
      author,
      checkFile: (path, bytes) => this.checkContent(path, bytes, checks, { secrets: true }),
      checkCommit: stageGuard(this.dir, store, { otherParents: () => otherParents, onHeld }),
    };
  }

  private writer(): Promise<Writer> {
    this.writerPromise ??= Promise.all([import('./writer.js'), this.store()]).then(
      ([{ Writer }, store]) => new Writer(store, { ...this.options, rebuild: (offer) => this.replay(offer) }),
    );
    return this.writerPromise;
  }

  /**
   * Run the content checks on file bytes: parse and check state files; with
   * `secrets`, also refuse a secret (raw text and data) that HEAD's version of
   * the file does not hold, as the guard would for a commit on HEAD.
   */
  private async checkContent(path: string, bytes: Uint8Array, checks: readonly ContentCheck[], options: { secrets?: boolean } = {}): Promise<void> {
    if (STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
      const value = getValue(parseStateText(decodeText(bytes, path), path), []);
      for (const check of checks) await check(path, value);
    }
    if (!options.secrets) return;
    const [{ checkContentChange }, { loadAllowList }, store] = await Promise.all([import('../security/guard.js'), import('../security/allow.js'), this.store()]);
    const before = async () => {
      const blob = await store.blobOidAt(await store.headOid(), path);
      return [blob ? await store.readBlob(blob) : null];
    };
    await checkContentChange(path, bytes, before, await loadAllowList(this.dir));
  }
}
