/**
 * A transaction: operations on one or more state files, applied in memory to
 * yaml Documents read once under the lock, then validated and turned into the
 * file changes of a single commit. Nothing touches the disk until the caller
 * commits what `finish()` returns.
 */
import { NotFoundError, OperationError, SizeError, YamlError } from '../errors.js';
import type { DataChange } from '../state/object-path.js';
import { appendValue, deleteValue, getValue, mergeValue, setValue } from '../yaml/edit.js';
import { checkDepth, checkStrings, decodeForEdit, decodeText, MAX_FILE_BYTES, MAX_VALUE_BYTES, parseStateText, parseValueText } from '../yaml/document.js';
import { readBack } from '../yaml/verify.js';
import type { StateDoc } from '../yaml/document.js';
import { formatKeyPath, parseKeyPath, type Segment } from '../base/keypath.js';
import { isJsonPath, normalizeStatePath } from '../base/paths.js';
import type { OpName, OpRecord } from './message.js';
import { checkFiniteNumbers, checkJsonNumbers, jsonErrorReason } from '../security/values.js';
import type { FileChange } from './types.js';
import { TruncatedEditError } from './hand-edits.js';

/** Where sync's settings live (identity fields per list among them). */
const SYNC_SETTINGS = '.gitstate/sync.yaml';

interface LoadedFile {
  path: string;
  /** Bytes on disk when first read; null when the file did not exist. */
  disk: Uint8Array | null;
  state: StateDoc;
  /** Set by write(): the caller's text is kept byte for byte (comments included). */
  text?: string;
  deleted: boolean;
}

/** One operation as data: a batch line, or a write handed to another process (handoff.ts). */
export type TxOp =
  | { op: 'set' | 'append'; file: string; key: string; value?: unknown }
  | { op: 'delete'; file: string; key?: string }
  | { op: 'merge'; file: string; key?: string; value?: unknown }
  | { op: 'write'; file: string; value: string }
  /** `mine`: the writer's whole value of each top-level key a change is under, taken when the change no longer fits (absent: the key goes). */
  | { op: 'patch'; file: string; changes: DataChange[]; mine: Record<string, unknown> };

/** A check run on every file content before it is committed (schemas, the secret guard). */
export type ContentCheck = (path: string, value: unknown) => void | Promise<void>;

/**
 * Files as writes read them back, by path and exact bytes: the next write of
 * the same bytes (the next in a group, or this process's next write of a file
 * no one changed since) starts from that parse instead of parsing them again.
 * Each is given out once, since a write edits it. A parse holds some 30 times
 * its text in memory, so the texts kept add up to `maxBytes` at most (the
 * oldest go first), and a larger file is not kept.
 */
export class ParsedFiles {
  private readonly docs = new Map<string, { bytes: Uint8Array; state: StateDoc }>();
  private bytes = 0;

  constructor(private readonly maxBytes = 512 * 1024) {}

  take(path: string, bytes: Uint8Array): StateDoc | undefined {
    const hit = this.docs.get(path);
    if (!hit || Buffer.compare(hit.bytes, bytes) !== 0) return undefined;
    this.drop(path);
    return hit.state;
  }

  put(path: string, bytes: Uint8Array, state: StateDoc): void {
    this.drop(path);
    if (bytes.byteLength > this.maxBytes / 2) return;
    this.docs.set(path, { bytes, state });
    this.bytes += bytes.byteLength;
    for (const oldest of this.docs.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  private drop(path: string): void {
    const hit = this.docs.get(path);
    if (!hit) return;
    this.docs.delete(path);
    this.bytes -= hit.bytes.byteLength;
  }
}

export class Transaction {
  readonly ops: OpRecord[] = [];
  private readonly files = new Map<string, LoadedFile>();

  /** `read`: a file's bytes as this transaction's write sees them (null: absent); `parsed`: parses to start from. */
  constructor(
    private readonly read: (path: string) => Promise<Uint8Array | null>,
    private readonly parsed?: ParsedFiles,
  ) {}

  /** Read a value as this transaction sees it (its own earlier operations included). */
  async get(file: string, key?: string): Promise<unknown> {
    const loaded = await this.load(file);
    if (loaded.deleted) throw new NotFoundError(`${loaded.path} does not exist`);
    return getValue(loaded.state, key ? parseKeyPath(key) : []);
  }

  /** A file's text as this transaction's write sees it (null: absent), without parsing it. */
  async readText(file: string): Promise<string | null> {
    const path = normalizeStatePath(file);
    const loaded = this.files.get(path);
    if (loaded) return loaded.deleted ? null : (loaded.text ?? loaded.state.text);
    const bytes = await this.read(path);
    return bytes ? decodeText(bytes, path) : null;
  }

  async set(file: string, key: string, value: unknown): Promise<void> {
    const segments = parseKeyPath(key);
    checkValue(value, key);
    const loaded = await this.loadForWrite(file);
    setValue(loaded.state, segments, value);
    this.record('set', loaded, formatKeyPath(segments));
  }

  async append(file: string, key: string, value: unknown): Promise<void> {
    const segments = parseKeyPath(key);
    checkValue(value, key);
    const loaded = await this.loadForWrite(file);
    appendValue(loaded.state, segments, value, await this.identityFor(loaded.path, formatKeyPath(segments)));
    this.record('append', loaded, formatKeyPath(segments));
  }

  /** Remove the value at `key`, or the whole file when no key is given. */
  async delete(file: string, key?: string): Promise<void> {
    // the whole file goes: its content need not parse (a broken file, or a broken schema, can always be removed)
    const loaded = key === undefined || key === '' ? await this.loadUnparsed(file) : await this.load(file);
    if (loaded.deleted || (loaded.disk === null && !this.touched(loaded))) throw new NotFoundError(`${loaded.path} does not exist`);
    if (key === undefined || key === '') {
      loaded.deleted = true;
      loaded.text = undefined;
      this.record('delete', loaded);
      return;
    }
    const segments = parseKeyPath(key);
    deleteValue(loaded.state, segments);
    loaded.text = undefined;
    this.record('delete', loaded, formatKeyPath(segments));
  }

  async merge(file: string, key: string | undefined, value: unknown): Promise<void> {
    const segments = key ? parseKeyPath(key) : [];
    checkValue(value, key || 'value');
    const loaded = await this.loadForWrite(file);
    mergeValue(loaded.state, segments, value);
    this.record('merge', loaded, formatKeyPath(segments) || undefined);
  }

  /** Replace a whole file with `text`, which must parse; the text is kept as given. */
  async write(file: string, text: string): Promise<void> {
    const path = normalizeStatePath(file);
    if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
      throw new SizeError(`content for ${path} is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_FILE_BYTES} bytes`);
    }
    // said of the text given, not of the file on disk, which is fine
    const given = `the text given for ${path}`;
    const state = parseStateText(text, path, given);
    if (isJsonPath(path)) {
      try {
        JSON.parse(text);
      } catch (err) {
        throw new YamlError(`invalid JSON in ${given}: ${jsonErrorReason(err, text)}`);
      }
      checkJsonNumbers(text, given);
    }
    // The old content is replaced, not read: a malformed file can be fixed by a write. (Uncommitted
    // content on disk is still checked, and kept or refused, before anything is committed.)
    let loaded = this.files.get(path);
    if (!loaded) {
      loaded = { path, disk: await this.read(path), state, deleted: false };
      this.files.set(path, loaded);
    }
    // no data at all (empty stdin from a pipeline that failed) over a file that has some: refused, as a
    // hand edit that emptied a file is; `{}` empties it on purpose
    if (state.value === null && !loaded.deleted) {
      const had = loaded.state !== state ? loaded.state.value : loaded.disk ? valueOrNull(loaded.disk, path) : null;
      const keys = had !== null && typeof had === 'object' ? Object.keys(had).length : 0;
      if (keys > 0) {
        throw new TruncatedEditError(`${given} holds no data; it would replace ${keys} top-level ${keys === 1 ? 'key' : 'keys'}; nothing was written. To empty the file write {} (or []); to remove it, gitstate delete ${path}`, { file: path });
      }
    }
    loaded.state = state;
    loaded.text = text;
    loaded.deleted = false;
    this.record('write', loaded);
  }

  /**
   * Make a StateManager flush's changes on state.json key by key, as its own
   * process would (state/data.ts: a change that no longer fits takes the
   * writer's whole top-level value from `mine`). Refused as the flush is when
   * the file is corrupt.
   */
  async patch(file: string, changes: readonly DataChange[], mine: Readonly<Record<string, unknown>>): Promise<void> {
    const path = normalizeStatePath(file);
    const { stateText, withChanges } = await import('../state/data.js');
    // a top-level segment of a change that fits nowhere is a key; anything else has no value of the writer's
    const mineAt = ([top]: Segment[]) => (top?.kind === 'key' && Object.hasOwn(mine, top.name) ? mine[top.name] : undefined);
    await this.write(path, stateText(withChanges(await this.readText(path), changes, mineAt)));
  }

  /**
   * Validate every touched file and return the changes to commit: only files
   * whose bytes actually differ from what is on disk. The bytes to be written
   * are parsed again and must read back as the data the operations meant
   * (a RoundTripError otherwise); that reading is what the checks see.
   */
  async finish(checks: readonly ContentCheck[]): Promise<FileChange[]> {
    const changes: FileChange[] = [];
    for (const file of this.files.values()) {
      if (!this.touched(file)) continue;
      if (file.deleted) {
        if (file.disk !== null) changes.push({ path: file.path, content: null });
        continue;
      }
      const bytes = Buffer.from(file.text ?? file.state.text);
      if (bytes.byteLength > MAX_FILE_BYTES) {
        throw new SizeError(`${file.path} would be ${bytes.byteLength} bytes; the limit is ${MAX_FILE_BYTES} bytes`);
      }
      const { value, text, doc } = readBack(file.path, bytes, file.state.value);
      // as a parse of these bytes for an edit would be (a byte order mark is kept in an edit's text)
      if (!hasBom(bytes)) this.parsed?.put(file.path, bytes, { path: file.path, json: file.state.json, text, value, parsed: doc, rerendered: 0 });
      checkStrings(value, file.path);
      for (const check of checks) await check(file.path, value);
      if (file.disk && Buffer.compare(Buffer.from(file.disk), bytes) === 0) continue;
      changes.push({ path: file.path, content: bytes });
    }
    return changes;
  }

  private identities?: Promise<Record<string, Record<string, string>>>;

  /** The identity field configured for a list (`identity:` in .gitstate/sync.yaml), if any. */
  private async identityFor(path: string, list: string): Promise<string | undefined> {
    this.identities ??= this.read(SYNC_SETTINGS).then((bytes) => {
      try {
        const settings = bytes ? (parseValueText(decodeText(bytes, SYNC_SETTINGS), SYNC_SETTINGS) as { identity?: unknown } | null) : null;
        const identity = settings?.identity;
        return identity && typeof identity === 'object' ? (identity as Record<string, Record<string, string>>) : {};
      } catch {
        return {}; // sync reports a malformed settings file; appends do without it
      }
    });
    const field = (await this.identities)[path]?.[list] ?? (await this.identities)[path]?.[list.replace(/\[[^\]]*\]/g, '[]')];
    return typeof field === 'string' ? field : undefined;
  }

  private touched(file: LoadedFile): boolean {
    return this.ops.some((o) => o.file === file.path);
  }

  private record(op: OpName, file: LoadedFile, key?: string): void {
    this.ops.push(key ? { op, file: file.path, key } : { op, file: file.path });
  }

  private async loadForWrite(file: string): Promise<LoadedFile> {
    const loaded = await this.load(file);
    if (loaded.deleted) {
      loaded.deleted = false;
      loaded.state = parseStateText('', loaded.path);
    }
    loaded.text = undefined;
    return loaded;
  }

  /** A file's entry without parsing its content (for removing it). */
  private async loadUnparsed(file: string): Promise<LoadedFile> {
    const path = normalizeStatePath(file);
    const hit = this.files.get(path);
    if (hit) return hit;
    const loaded: LoadedFile = { path, disk: await this.read(path), state: parseStateText('', path), deleted: false };
    this.files.set(path, loaded);
    return loaded;
  }

  private async load(file: string): Promise<LoadedFile> {
    const path = normalizeStatePath(file);
    const hit = this.files.get(path);
    if (hit) return hit;
    const disk = await this.read(path);
    const state = (disk && this.parsed?.take(path, disk)) || parseStateText(disk ? decodeForEdit(disk, path) : '', path);
    const loaded: LoadedFile = { path, disk, state, deleted: false };
    this.files.set(path, loaded);
    return loaded;
  }
}

/** Make one operation given as data. */
export function applyOp(tx: Pick<Transaction, 'set' | 'append' | 'delete' | 'merge' | 'write'> & Partial<Pick<Transaction, 'patch'>>, op: TxOp): Promise<void> {
  switch (op.op) {
    case 'set':
      return tx.set(op.file, op.key, op.value);
    case 'append':
      return tx.append(op.file, op.key, op.value);
    case 'delete':
      return tx.delete(op.file, op.key);
    case 'merge':
      return tx.merge(op.file, op.key, op.value);
    case 'write':
      return tx.write(op.file, op.value);
    case 'patch':
      // made by the core alone (a StateManager flush handed to the lock's holder), never given by a caller
      if (!tx.patch) throw new OperationError('patch is not an operation a caller can give');
      return tx.patch(op.file, op.changes, op.mine);
    default:
      throw new OperationError(`unknown operation "${String((op as { op: unknown }).op)}"`);
  }
}

function checkValue(value: unknown, where: string): void {
  if (value === undefined) throw new YamlError(`no value given for ${where}`);
  const size = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (size > MAX_VALUE_BYTES) throw new SizeError(`value for ${where} is ${size} bytes; the limit is ${MAX_VALUE_BYTES} bytes`);
  checkDepth(value, `value for ${where}`);
  checkStrings(value, `value for ${where}`);
  checkFiniteNumbers(value, `value for ${where}`);
}

function hasBom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** A file's data, or null when it has none or does not parse (a write may always replace a broken file). */
function valueOrNull(bytes: Uint8Array, path: string): unknown {
  try {
    return parseStateText(decodeForEdit(bytes, path), path).value;
  } catch {
    return null;
  }
}
