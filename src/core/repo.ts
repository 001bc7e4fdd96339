/**
 * StateRepo: the library core. Every mutation is one transaction:
 * lock → read → apply at the key path → validate → atomic write → one commit → release.
 *
 * Reading (`get`, `list`) needs neither git nor the lock, so the heavy modules
 * (isomorphic-git, zod, proper-lockfile) are loaded on the first write only:
 * a one-shot `gitstate get` stays fast.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, OperationError, RepoError } from '../errors.js';
import { getValue } from '../yaml/edit.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { parseKeyPath } from './keypath.js';
import { normalizeStatePath, realDir, STATE_EXTENSIONS } from './paths.js';
import { readStateBytes } from './files.js';
import type { ContentCheck, Transaction } from './transaction.js';
import type { FileChange, GitStore, Person } from '../git/store.js';
import type { LockOptions } from './lock.js';
import type { MessageOptions, OpName } from './message.js';

export interface RepoOptions extends LockOptions {
  /** Commit author as "Name <email>"; default: see resolveAuthor. */
  author?: string;
}

export interface WriteOptions {
  /** A note added to the commit message (`-m`). */
  message?: string;
  /** The commit's operation and subject, for writes made on behalf of a higher-level command (flush, rollback...). */
  op?: OpName;
  subject?: string;
}

export interface WriteResult {
  /** The commit the write made, or HEAD when the write changed nothing. */
  commit: string;
  /** False when the result equalled what was there: no commit was made. */
  changed: boolean;
  /** Repo-relative paths the commit changed. */
  files: string[];
}

export interface ValidationResult {
  file: string;
  ok: boolean;
  error?: string;
  code?: string;
}

export interface RecoveryReport {
  /** Paths an interrupted write had changed that were put back to HEAD. */
  restored: string[];
  /** Paths whose index entry was brought up to HEAD. */
  reindexed: string[];
}

export type TxOps = Pick<Transaction, 'get' | 'set' | 'append' | 'delete' | 'merge' | 'write'>;

type WriteModules = [typeof import('./lock.js'), typeof import('./message.js'), typeof import('./transaction.js')];
let writeModules: Promise<WriteModules> | null = null;
/** The modules every write needs, loaded once (an `import()` per write costs more than the lookup it saves). */
function loadWriteModules(): Promise<WriteModules> {
  writeModules ??= Promise.all([import('./lock.js'), import('./message.js'), import('./transaction.js')]);
  return writeModules;
}

export class StateRepo {
  private storePromise: Promise<GitStore> | null = null;
  private authorPromise: Promise<Person> | null = null;
  private checksPromise: Promise<ContentCheck[]> | null = null;

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

  /** Open an existing state repository. */
  static async open(dir: string, options: RepoOptions = {}): Promise<StateRepo> {
    let real: string;
    try {
      real = await realDir(dir);
      await stat(join(real, '.git', 'HEAD'));
    } catch {
      throw new RepoError(`no state repository at ${dir}; run "gitstate init" first`);
    }
    return new StateRepo(real, options);
  }

  /** Create the state repository (idempotent: an existing one is opened unchanged). */
  static async init(dir: string, options: RepoOptions = {}): Promise<StateRepo> {
    await mkdir(dir, { recursive: true });
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
      const entries = await readdir(join(this.dir, rel), { withFileTypes: true });
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
        const state = parseStateText(decodeText(bytes, file), file);
        const value = getValue(state, []);
        for (const check of checks) await check(file, value);
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
    return this.transaction((tx) => tx.set(file, key, value), options);
  }

  append(file: string, key: string, value: unknown, options?: WriteOptions): Promise<WriteResult> {
    return this.transaction((tx) => tx.append(file, key, value), options);
  }

  /** Remove the value at `key`, or the file itself when `key` is omitted. */
  delete(file: string, key?: string, options?: WriteOptions): Promise<WriteResult> {
    return this.transaction((tx) => tx.delete(file, key), options);
  }

  merge(file: string, key: string | undefined, value: unknown, options?: WriteOptions): Promise<WriteResult> {
    return this.transaction((tx) => tx.merge(file, key, value), options);
  }

  write(file: string, text: string, options?: WriteOptions): Promise<WriteResult> {
    return this.transaction((tx) => tx.write(file, text), options);
  }

  /**
   * Run several operations, on one or several files, as one commit or none: if
   * `fn` throws, or any resulting file fails validation, nothing is written.
   */
  async transaction(fn: (tx: TxOps) => Promise<unknown>, options: WriteOptions = {}): Promise<WriteResult> {
    const [, { commitMessage }, { Transaction }] = await loadWriteModules();
    return this.underLock(async (commit) => {
      const tx = new Transaction(this.dir);
      await fn(tx);
      const changes = await tx.finish(await this.checks());
      const disk = new Map(tx.touchedFiles().map((f) => [f.path, f.disk]));
      return commit(changes, disk, commitMessage(tx.ops, { note: options.message, op: options.op, subject: options.subject }));
    });
  }

  /**
   * Commit whole files as given (null removes one) — for commands built on the
   * core, such as rollback and state reset. Each content is checked like any
   * write: state files must parse and pass their schema and the secret guard;
   * anything else is scanned for secrets. Files already equal to HEAD are skipped.
   */
  async commitFiles(
    files: readonly FileChange[],
    message: MessageOptions & { op: OpName },
    /** The caller already kept what is on disk (state reset moves it aside): skip the hand-edit check. */
    options: { diskKept?: boolean; otherParents?: string[] } = {},
  ): Promise<WriteResult> {
    const [, { commitMessage }] = await loadWriteModules();
    const store = await this.store();
    return this.underLock(async (commit, head) => {
      const checks = await this.checks();
      const changes: FileChange[] = [];
      const disk = new Map<string, Uint8Array | null>();
      for (const file of files) {
        if (file.content) await this.checkContent(file.path, file.content, checks);
        const oid = file.content ? await store.hashBlob(file.content) : null;
        if (oid === (await store.blobOidAt(head, file.path))) continue;
        changes.push(file);
        if (!options.diskKept) disk.set(file.path, await readStateBytes(this.dir, file.path));
      }
      const ops = changes.map((c) => ({ op: message.op, file: c.path }));
      return commit(changes, disk, commitMessage(ops, message), options.otherParents);
    });
  }

  /**
   * Run `fn` holding the repository lock, after finishing any interrupted write
   * (for modules built on the core that move the branch themselves: sync).
   */
  async locked<T>(fn: (ctx: { store: GitStore; head: string | null; assertLockHeld: () => void }) => Promise<T>): Promise<T> {
    const store = await this.store();
    const [{ withRepoLock }] = await loadWriteModules();
    return withRepoLock(this.gitdir, this.options, async (lock) => {
      await this.recoverInterrupted(store);
      return fn({ store, head: await store.headOid(), assertLockHeld: () => lock.assertHeld() });
    });
  }

  /**
   * Take the lock, finish any interrupted write, and hand `fn` a function that
   * commits changes on HEAD. Hand edits found on disk on a changed path are kept
   * first, in a commit of their own.
   */
  private async underLock(
    fn: (
      commit: (changes: FileChange[], disk: Map<string, Uint8Array | null>, message: string, otherParents?: string[]) => Promise<WriteResult>,
      head: string | null,
    ) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    const store = await this.store();
    const [{ withRepoLock }, { commitMessage }] = await loadWriteModules();
    return withRepoLock(this.gitdir, this.options, async (lock) => {
      // Held since this process's last write, which cleared the journal: nothing to recover.
      if (!(lock.continued && store.journalCleared())) await this.recoverInterrupted(store);
      const parent = await store.headOid();
      const assertLockHeld = () => lock.assertHeld();
      return fn(async (changes, disk, message, otherParents) => {
        // A merge commit is made even when it changes no file: it records the other side's history.
        if (changes.length === 0 && !otherParents?.length) return { commit: parent ?? '', changed: false, files: [] };
        const author = await this.author();
        let base = parent;
        const edited = await this.handEdits(store, parent, changes, disk);
        if (edited.length > 0) {
          const paths = edited.map((c) => c.path);
          const recoverMessage = commitMessage(
            paths.map((file) => ({ op: 'recover' as const, file })),
            { op: 'recover', subject: `recover uncommitted changes to ${paths.join(', ')}`, note: 'Found on disk, never committed; kept before the next write.' },
          );
          base = await store.commit({ changes: edited, message: recoverMessage, author, parent, writeWorkTree: false, assertLockHeld });
        }
        const commit = await store.commit({ changes, message, author, parent: base, writeWorkTree: true, assertLockHeld, otherParents });
        return { commit, changed: true, files: changes.map((c) => c.path) };
      }, parent);
    });
  }

  /**
   * Put right what an interrupted write left: work-tree files it replaced go
   * back to HEAD (the write was never acknowledged, and a batch stays
   * all-or-nothing), and their index entries are brought up to HEAD.
   */
  async recover(): Promise<RecoveryReport> {
    const store = await this.store();
    const [{ withRepoLock }] = await loadWriteModules();
    return withRepoLock(this.gitdir, this.options, () => this.recoverInterrupted(store));
  }

  /** The git layer, for modules built on the core (history, sync). */
  store(): Promise<GitStore> {
    this.storePromise ??= import('../git/store.js').then(({ GitStore }) => new GitStore(this.dir).prepare());
    return this.storePromise;
  }

  author(): Promise<Person> {
    this.authorPromise ??= import('./author.js').then(({ resolveAuthor }) => resolveAuthor(this.dir, this.options.author));
    return this.authorPromise;
  }

  /** Checks every content passes before it is committed: its schema, then the secret guard. */
  checks(): Promise<ContentCheck[]> {
    this.checksPromise ??= Promise.all([import('../schema/validate.js'), import('../schema/user.js'), import('../security/secrets.js')]).then(
      ([{ validateContent }, { loadUserSchemas }, { assertNoSecrets, loadAllowList }]) => [
        async (path: string, value: unknown) => validateContent(path, value, await loadUserSchemas(this.dir)),
        async (path: string, value: unknown) => assertNoSecrets(path, value, await loadAllowList(this.dir)),
      ],
    );
    return this.checksPromise;
  }

  private async recoverInterrupted(store: GitStore): Promise<RecoveryReport> {
    const report: RecoveryReport = { restored: [], reindexed: [] };
    const journal = await store.readJournal();
    if (!journal) return report;
    const head = await store.headOid();
    const fixes: Array<[string, string | null]> = [];
    for (const { path, after } of journal.files) {
      const atHead = await store.blobOidAt(head, path);
      const bytes = await readStateBytes(this.dir, path).catch(() => null);
      const onDisk = bytes ? await store.hashBlob(bytes) : null;
      if (onDisk !== atHead && onDisk === after) {
        const { rm } = await import('node:fs/promises');
        if (atHead) await store.atomic.writeFile(join(this.dir, path), await store.readBlob(atHead));
        else await rm(join(this.dir, path), { force: true });
        report.restored.push(path);
      }
      fixes.push([path, atHead]);
      report.reindexed.push(path);
    }
    await store.updateIndex(fixes);
    await store.atomic.sweep();
    await store.clearJournal();
    return report;
  }

  /**
   * Changed paths whose bytes on disk differ from HEAD (edited by hand, never
   * committed) and from the new content. Their disk content must pass the same
   * checks as any write before it is kept.
   */
  private async handEdits(store: GitStore, head: string | null, changes: FileChange[], disk: Map<string, Uint8Array | null>): Promise<FileChange[]> {
    const edited: FileChange[] = [];
    const checks = await this.checks();
    for (const change of changes) {
      if (!disk.has(change.path)) continue;
      const bytes = disk.get(change.path) ?? null;
      const onDisk = bytes ? await store.hashBlob(bytes) : null;
      if (onDisk === (await store.blobOidAt(head, change.path))) continue;
      if (bytes && change.content && Buffer.compare(Buffer.from(bytes), Buffer.from(change.content)) === 0) continue;
      if (bytes) {
        try {
          await this.checkContent(change.path, bytes, checks);
        } catch (err) {
          throw new OperationError(
            `${change.path} has uncommitted changes on disk that fail validation (${(err as Error).message}); fix them, or discard them with "git -C ${this.dir} checkout -- ${change.path}"`,
          );
        }
      }
      edited.push({ path: change.path, content: bytes });
    }
    return edited;
  }

  /** Check file bytes as a write would (parse, schema, secret guard); throws the same errors. */
  async checkFileContent(path: string, bytes: Uint8Array): Promise<void> {
    return this.checkContent(path, bytes, await this.checks());
  }

  /** Run the content checks on file bytes: parse and check state files, scan anything else for secrets. */
  private async checkContent(path: string, bytes: Uint8Array, checks: readonly ContentCheck[]): Promise<void> {
    if (!STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
      const { assertNoSecretText } = await import('../security/secrets.js');
      return assertNoSecretText(path, decodeText(bytes, path));
    }
    const value = getValue(parseStateText(decodeText(bytes, path), path), []);
    for (const check of checks) await check(path, value);
  }
}
