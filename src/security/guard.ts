/**
 * The commit guard: what every commit gitstate makes (and every hand-made one
 * the pre-commit hook sees) must pass before it is staged.
 *
 *  - A commit may not add a secret its parents did not hold: every byte it adds
 *    is scanned (file text, keys and values, file and folder names, the
 *    message, author and committer). A secret a parent already held (pulled
 *    from another machine, committed by native git) is reported, never
 *    refused, so writes to the rest of that file go on.
 *  - Names: nothing under `.gitstate/local/`; no new name that differs from an
 *    existing one (or another in the same commit) only in case, since those
 *    collide on macOS and Windows.
 *
 * `guardCommit` is the whole check; `stageGuard` adapts it to the writer's
 * `checkCommit` hook (core/writer.ts), for StateRepo, init and `gitstate commit`.
 */
import { PathError, SecretError } from '../errors.js';
import { printable } from '../base/paths.js';
import { AuthorError } from '../core/author.js';
import type { FileChange, Person } from '../core/types.js';
import type { Stage } from '../git/stage.js';
import type { GitStore } from '../git/store.js';
import { ALLOW_FILE, loadAllowList, parseAllowList, type AllowList } from './allow.js';
import { scanFile } from './file-scan.js';
import { redactText, scanLine, type Finding } from './scan.js';

export const LOCAL_DIR = '.gitstate/local/';

export interface CommitToCheck {
  message: string;
  author: Person;
  /** Defaults to the author. */
  committer?: Person;
  changes: readonly FileChange[];
  /** The commit's parents: none for a first commit, two or more for a merge. */
  parents: readonly string[];
}

/** How the guard sees what the parents held. */
export interface ParentReader {
  /** The bytes of `path` at `commit`; null when absent. */
  read(commit: string, path: string): Promise<Uint8Array | null>;
  /** Whether `path` is a file at `commit`. */
  exists(commit: string, path: string): Promise<boolean>;
  /** Entry names of folder `dir` (`''` is the root) at `commit`; null when there is no such folder. */
  list(commit: string, dir: string): Promise<string[] | null>;
}

/** A secret a parent already held: reported (file, rule, where), never its value. */
export interface HeldSecret {
  /** The file it is in (its name redacted if the name is the secret). */
  file: string;
  /** A line, a key path, or "file name". */
  where: string;
  rule: string;
  fingerprint: string;
  /** For finding the commit that added it; never printed. */
  readonly id: string;
  /** The real path, for looking it up in history; never printed when the name itself is the secret. */
  readonly path: string;
}

/** Check a commit; returns the secrets its parents already held (refusing a new one, or a bad name, by throwing). */
export async function guardCommit(commit: CommitToCheck, parents: ParentReader, allow: AllowList): Promise<HeldSecret[]> {
  const allowList = allowAsOfCommit(commit.changes) ?? allow;
  checkPeople(commit, allowList);
  refuseNew(scanLine(commit.message), null, allowList, 'the commit message');
  const held: HeldSecret[] = [];
  await checkNames(commit, parents, allowList, held);
  for (const change of commit.changes) {
    if (!change.content) continue;
    const { path } = change;
    held.push(...(await checkContentChange(path, change.content, async () => Promise.all(commit.parents.map((p) => parents.read(p, path))), allowList)));
  }
  return held;
}

/** A commit message (a native commit's, through the commit-msg hook) must not hold a secret. */
export function checkMessage(message: string, allow: AllowList): void {
  refuseNew(scanLine(message), null, allow, 'the commit message');
}

/**
 * The secrets in `content` (new bytes of `path`): refused unless one of the
 * versions `before()` gives (the parents', read only when there is a finding)
 * already held it; returns those held ones.
 */
export async function checkContentChange(
  path: string,
  content: Uint8Array,
  before: () => Promise<ReadonlyArray<Uint8Array | null>>,
  allow: AllowList,
): Promise<HeldSecret[]> {
  const found = scanFile(path, content).filter((f) => !allow.allowsFinding(path, f));
  if (found.length === 0) return [];
  const heldIds = new Set<string>();
  for (const old of await before()) if (old) for (const f of scanFile(path, old)) heldIds.add(f.id);
  refuseNew(
    found.filter((f) => !heldIds.has(f.id)),
    path,
    allow,
    redactText(path),
  );
  return found.map((f) => ({ file: redactText(path), where: locate(f), rule: f.rule, fingerprint: f.fingerprint, id: f.id, path }));
}

/** A commit that changes the allow-list is judged by the list it commits. */
function allowAsOfCommit(changes: readonly FileChange[]): AllowList | null {
  const change = changes.find((c) => c.path === ALLOW_FILE);
  return change?.content ? parseAllowList(Buffer.from(change.content).toString('utf8')) : null;
}

function checkPeople(commit: CommitToCheck, allow: AllowList): void {
  const people: Array<[string, Person]> = [['the commit author', commit.author]];
  if (commit.committer) people.push(['the committer', commit.committer]);
  for (const [what, person] of people) {
    // what git would record wrongly, said of the part that is wrong, with its value
    if (/[<>\0-\x1f\x7f]/.test(person.name)) {
      throw new AuthorError(`${what}'s name ("${printable(person.name)}") may not contain "<", ">" or control characters such as a newline`);
    }
    if (/[<>\s\0-\x1f\x7f]/.test(person.email) || !person.email.includes('@')) {
      throw new AuthorError(`${what}'s email ("${printable(person.email)}") is not an email address like name@example.com`);
    }
    refuseNew([...scanLine(person.name), ...scanLine(person.email)], null, allow, what);
  }
}

function refuseNew(found: readonly Finding[], file: string | null, allow: AllowList, subject: string): void {
  const refused = found.filter((f) => !allow.allowsFinding(file, f));
  // a finding at a key path names it, as the allow-list takes it; a line is for what has none (comments, text files)
  const first = refused.find((f) => f.key !== undefined) ?? refused[0];
  if (!first) return;
  const at = file === null ? '' : `: ${locate(first)}`;
  const more = refused.length > 1 ? ` and ${refused.length - 1} more` : '';
  throw new SecretError(
    `${subject}${at}: looks like a secret (rule ${first.rule}, fingerprint fp:${first.fingerprint})${more}; secrets are never committed (false positive? allow the key path or the fingerprint in ${ALLOW_FILE})`,
    { file: file === null ? undefined : redactText(file), key: first.key, line: first.line, rule: first.rule, fingerprint: first.fingerprint },
  );
}

function locate(f: Finding): string {
  return f.key ?? (f.line !== undefined ? `line ${f.line}` : 'name');
}

async function checkNames(commit: CommitToCheck, parents: ParentReader, allow: AllowList, held: HeldSecret[]): Promise<void> {
  const [first] = commit.parents;
  const newPaths: string[] = [];
  for (const change of commit.changes) {
    if (!change.content) continue;
    const path = change.path;
    if (path.startsWith(LOCAL_DIR)) throw new PathError(`${redactText(path)} is under ${LOCAL_DIR}, which is local to this machine and never committed`);
    let existed = false;
    for (const parent of commit.parents) if (!existed && (await parents.exists(parent, path))) existed = true;
    const found = scanLine(path).filter((f) => !allow.allowsFinding(null, f));
    if (found.length > 0) {
      if (!existed) refuseNew(found, null, allow, `the file name ${redactText(path)}`);
      for (const f of found) held.push({ file: redactText(path), where: 'file name', rule: f.rule, fingerprint: f.fingerprint, id: f.id, path });
    }
    if (!existed) newPaths.push(path);
  }
  // Names that differ only in case: from each other, and from what the first parent has.
  const seen = new Map<string, string>();
  for (const path of newPaths) {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const folded = foldCase(prefix);
      const other = seen.get(folded);
      if (other !== undefined && other !== prefix) throw caseError(prefix, other);
      seen.set(folded, prefix);
    }
  }
  if (!first) return;
  for (const path of newPaths) {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const names = await parents.list(first, parts.slice(0, i).join('/'));
      if (!names) break; // a new folder: nothing below it to collide with
      const name = parts[i]!;
      if (names.includes(name)) continue;
      const clash = names.find((n) => foldCase(n) === foldCase(name));
      if (clash !== undefined) throw caseError(parts.slice(0, i + 1).join('/'), [...parts.slice(0, i), clash].join('/'));
    }
  }
}

/** Case-insensitive and normalisation-insensitive, as macOS and Windows compare names. */
export function foldCase(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

function caseError(path: string, other: string): PathError {
  return new PathError(
    `${redactText(path)} differs from ${redactText(other)} only in case; the two would be one file on macOS and Windows (use the existing name)`,
  );
}

/** A ParentReader over a stage: its newest staged commit (files not yet published) and any commit in the store. */
export function stageReader(stage: Stage, store: GitStore): ParentReader {
  return {
    async read(commit, path) {
      if (commit === stage.head) {
        const staged = stage.fileContent(path);
        if (staged !== undefined) return staged;
      }
      const blob = await stage.blobOidAt(commit, path);
      return blob ? store.readBlob(blob) : null;
    },
    async exists(commit, path) {
      if (commit === stage.head) {
        const staged = stage.fileContent(path);
        if (staged !== undefined) return staged !== null;
      }
      return (await stage.blobOidAt(commit, path)) !== null;
    },
    async list(commit, dir) {
      let tree = await stage.treeOf(commit);
      for (const part of dir === '' ? [] : dir.split('/')) {
        const entry = (await stage.readTree(tree)).find((e) => e.path === part);
        if (!entry || entry.type !== 'tree') return null;
        tree = entry.oid;
      }
      return (await stage.readTree(tree)).map((e) => e.path);
    },
  };
}

/** A ParentReader over committed history (the pre-commit hook, doctor). */
export function storeReader(store: GitStore): ParentReader {
  return {
    async read(commit, path) {
      const blob = await store.blobOidAt(commit, path);
      return blob ? store.readBlob(blob) : null;
    },
    async exists(commit, path) {
      return (await store.blobOidAt(commit, path)) !== null;
    },
    async list(commit, dir) {
      let tree = await store.treeOf(commit);
      for (const part of dir === '' ? [] : dir.split('/')) {
        const entry = (await store.readTree(tree)).find((e) => e.path === part);
        if (!entry || entry.type !== 'tree') return null;
        tree = entry.oid;
      }
      return (await store.readTree(tree)).map((e) => e.path);
    },
  };
}

/** What the writer's `checkCommit` hook is given. */
export interface StagedCommitCheck {
  message: string;
  author: Person;
  changes: readonly FileChange[];
  parent: string | null;
  stage: Stage;
}

/**
 * The writer's `checkCommit` for a state repository at `dir`: the guard over a
 * staged commit, with `otherParents()` naming a merge's further parents.
 * `onHeld` receives the secrets the parents already held (to report them).
 * For `Writer.submit` callers that build their own requests (init, `gitstate commit`).
 */
export function stageGuard(
  dir: string,
  store: GitStore,
  options: { otherParents?: () => readonly string[]; onHeld?: (held: HeldSecret[]) => void } = {},
): (commit: StagedCommitCheck) => Promise<void> {
  return async ({ message, author, changes, parent, stage }) => {
    const parents = [...(parent ? [parent] : []), ...(options.otherParents?.() ?? [])];
    const held = await guardCommit({ message, author, changes, parents }, stageReader(stage, store), await loadAllowList(dir));
    options.onHeld?.(held);
  };
}
