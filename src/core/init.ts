/**
 * `gitstate init`: make a folder a state repo — a git repository with pinned
 * config, the seed layout, the format marker, a .gitignore for local-only
 * files, the pre-commit hook, and one initial commit.
 *
 * A folder that already holds files (a state folder being brought under
 * version control) is adopted as it is, but only once every file that would be
 * committed passes the checks any write passes (path rules, size, parse, the
 * secret guard, with the folder's own allow-list). One failure refuses the
 * whole init: nothing is changed, no `.git` is left behind. Schema failures
 * only warn (the file is kept as it is; `validate` shows it). Files gitstate
 * does not manage (not .yaml/.yml/.json) and config.json are left out, listed,
 * and added to .gitignore, so `git status` is clean afterwards.
 *
 * An existing git repository becomes a state repo the same way: its untracked
 * files are adopted, and missing seed files are added, in one commit on main.
 * A repo that is already a state repo is left as it is (made before the marker
 * existed: it gets the marker).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, GitstateError, messageOf, PathError, RepoError, SecretError } from '../errors.js';
import { normalizeStatePath, realDir, STATE_EXTENSIONS } from '../base/paths.js';
import { decodeText, parseStateText } from '../yaml/document.js';
import { getValue } from '../yaml/edit.js';
import { GitStore } from '../git/store.js';
import { indexRefusalAt } from '../git/index-patch.js';
import type { Disk } from '../git/disk.js';
import { installHooks } from '../hooks/install.js';
import { checkEmail, checkName, resolveAuthor } from './author.js';
import { isGitRepo, stateRepoKind } from './discover.js';
import { assertFormatKnown, FORMAT_FILE, FORMAT_VERSION, formatText, parseFormat, readFormat } from './format.js';
import type { LockOptions } from './lock.js';
import { commitMessage } from './message.js';
import { upgradeCommit } from './hand-edits.js';
import { Writer } from './writer.js';
import { stageGuard } from '../security/guard.js';
import type { FileChange } from './types.js';

/** Config isomorphic-git needs to read and write the repo correctly (see LIBRARIES.md). */
export const PINNED_CONFIG: Record<string, string> = {
  'core.repositoryformatversion': '0',
  'core.bare': 'false',
  'core.filemode': 'true',
  'core.autocrlf': 'false',
  'core.splitIndex': 'false',
  'core.untrackedCache': 'false',
  'index.version': '2',
  'feature.manyFiles': 'false',
};

export const SEED_FILES: Record<string, string> = {
  'current_work.yaml': [
    '# Work in progress: the issues and branches being worked on now.',
    '# active_issues: [{key, summary, branch, status, started}]',
    '# active_branches: [{name, issue, created, last_commit}]',
    'active_issues: []',
    'active_branches: []',
    '',
  ].join('\n'),
  'environments.yaml': ['# Environments: name -> {namespace, reserved_until, deployed_apps: [{name, image}], last_deploy}', ''].join('\n'),
  'knowledge.yaml': '# Discovered facts, one key per topic.\n',
  'shared_context.yaml': '# Context shared across sessions and workstations.\n',
  'projects/.gitkeep': '',
};

/** Rules every state repo's .gitignore carries: local-only files, never committed. */
const LOCAL_RULES = ['/.gitstate/local/', '*.lock'];
export const GITIGNORE = ['# Local-only files: never committed, never synced.', ...LOCAL_RULES, ''].join('\n');

export interface InitReport {
  /** Real path of the state directory. */
  dir: string;
  /** True when this call made the folder a state repo (its first gitstate commit). */
  created: boolean;
  /** The commit this call made (init, or the format upgrade of an older state repo), or null. */
  commit: string | null;
  /** Files already in the folder, committed as they are. */
  adopted: string[];
  /** Seed files added. */
  seeded: string[];
  /** Files left out of the commit and added to .gitignore, with why. */
  excluded: Array<{ path: string; reason: string }>;
  /** Files kept although they fail a check (schema; in an existing repo, anything already committed). */
  warnings: Array<{ path: string; code: string; message: string }>;
  /** An older state repo was brought to the current format. */
  upgraded: boolean;
  /** The pre-commit hook was installed (or updated) by this call. */
  hookInstalled: boolean;
  /** git's user.name / user.email copied into the repository's config by this call (the keys). */
  identityRecorded: string[];
  /** Why a value of git's identity was not copied (a write would refuse it). */
  identitySkipped: string[];
}

/** init refused: the files that cannot be adopted, each with why. Nothing was changed (exit 3). */
export class InitRefusedError extends GitstateError {
  readonly exitCode = ExitCode.rejected;
  constructor(
    /** The code of the first failure (details.files has each file's). */
    readonly code: string,
    message: string,
    data: Record<string, unknown> = {},
  ) {
    super(message, data);
  }
}

/** Returns true when this call created the repository, false when one was already there. */
export async function initRepository(dir: string, options: LockOptions & { author?: string; disk?: Disk }): Promise<boolean> {
  return (await initStateRepo(dir, options)).created;
}

/** Make `dir` a state repo (see the module comment); idempotent. */
export async function initStateRepo(dir: string, options: LockOptions & { author?: string; disk?: Disk } = {}): Promise<InitReport> {
  await mkdir(dir, { recursive: true });
  const real = await realDir(dir);
  const report: InitReport = { dir: real, created: false, commit: null, adopted: [], seeded: [], excluded: [], warnings: [], upgraded: false, hookInstalled: false, identityRecorded: [], identitySkipped: [] };
  const existing = isGitRepo(real);
  let store = new GitStore(real, options);
  let head: string | null = null;
  let unbornElsewhere = false;
  if (existing) {
    ({ head, unbornElsewhere } = await checkBranch(store));
    assertFormatKnown(real);
    if (head && stateRepoKind(real)) return finishExisting(store, options, report);
  }
  const tracked = head ? await trackedPaths(store) : new Set<string>();
  const plan = await planAdoption(real, store, tracked);
  if (plan.failures.length > 0) {
    const first = plan.failures[0]!;
    const list = plan.failures.map((f) => f.message).join('; ');
    throw new InitRefusedError(first.code, `init refused, nothing changed: ${plural(plan.failures.length, 'file')} cannot be adopted: ${list}`, { files: plan.failures });
  }
  if (!existing) await GitStore.init(real, options);
  // an unborn branch of another name (`git init` on an older git) has nothing to lose: point HEAD at main
  if (unbornElsewhere) writeFileSync(join(store.gitdir, 'HEAD'), 'ref: refs/heads/main\n');
  store = new GitStore(real, options);
  try {
    ({ recorded: report.identityRecorded, skipped: report.identitySkipped } = await configureRepository(store));
    const author = await resolveAuthor(store, options.author);
    const result = await new Writer(store, options).submit({
      author,
      checkFile: async () => undefined,
      skipHandEdits: true,
      checkCommit: stageGuard(real, store),
      prepare: async (view) => {
        if (view.head !== head) throw new RepoError(`${real} changed while init ran (another process committed); run gitstate init again`);
        const changes: FileChange[] = [];
        for (const path of plan.adopt) {
          const bytes = readFileSync(join(real, path));
          // changed on disk since it was checked: check it again, never commit unchecked bytes
          if (!bytes.equals(plan.checked.get(path)!)) await recheck(path, bytes, await loadChecks(real));
          changes.push({ path, content: bytes });
        }
        for (const [path, content] of Object.entries(SEED_FILES)) {
          if (!plan.present.has(path) && !tracked.has(path)) changes.push({ path, content: Buffer.from(content) });
        }
        changes.push({ path: FORMAT_FILE, content: Buffer.from(formatText()) });
        const gitignore = gitignoreText(plan.gitignore, plan.excluded);
        if (gitignore !== plan.gitignore || !tracked.has('.gitignore')) changes.push({ path: '.gitignore', content: Buffer.from(gitignore) });
        changes.sort((a, b) => (a.path < b.path ? -1 : 1));
        const subject = head ? 'init state repository in an existing git repository' : 'init state repository';
        return { changes, message: commitMessage(changes.map((c) => ({ op: 'init' as const, file: c.path })), { op: 'init', subject }) };
      },
    });
    // committing rewrote each adopted file with the same bytes: give back its read/write permissions (0600 stays 0600)
    for (const [path, mode] of plan.modes) if (result.changed && mode !== 0o644) chmodSync(join(real, path), mode);
    report.created = result.changed;
    report.commit = result.changed ? result.commit : null;
    report.adopted = plan.adopt;
    report.seeded = result.files.filter((p) => p in SEED_FILES && !plan.present.has(p));
    report.excluded = plan.excluded;
    report.warnings = plan.warnings;
  } catch (err) {
    // a repository this call made and could not finish: leave the folder as it was
    if (!existing) rmSync(join(real, '.git'), { recursive: true, force: true });
    throw err;
  }
  report.hookInstalled = await installHook(store);
  return report;
}

/** An existing state repo: pin its config, install the hook if missing, bring an older format up to date. */
async function finishExisting(store: GitStore, options: LockOptions & { author?: string }, report: InitReport): Promise<InitReport> {
  ({ recorded: report.identityRecorded, skipped: report.identitySkipped } = await configureRepository(store));
  if (readFormat(store.dir) < FORMAT_VERSION) {
    const author = await resolveAuthor(store, options.author);
    const result = await new Writer(store, options).submit({
      author,
      checkFile: async () => undefined,
      skipHandEdits: true,
      prepare: async (view) => upgradeCommit(view.head, view.read),
    });
    report.upgraded = result.changed;
    report.commit = result.changed ? result.commit : null;
  }
  report.hookInstalled = await installHook(store);
  return report;
}

/**
 * The branch must be main. An unborn branch of another name (`git init` on an
 * older git) is fine: it has no commits, and init points HEAD at main.
 */
async function checkBranch(store: GitStore): Promise<{ head: string | null; unbornElsewhere: boolean }> {
  const text = readFileSync(join(store.gitdir, 'HEAD'), 'utf8').trim();
  if (!text.startsWith('ref: ')) throw new InitRefusedError('BRANCH', `${store.dir} has a detached HEAD; check out main first (git -C ${store.dir} switch main)`);
  const ref = text.slice(5);
  if (ref === 'refs/heads/main') return { head: await store.headOid(), unbornElsewhere: false };
  if ((await store.resolveRef(ref)) === null) return { head: null, unbornElsewhere: true };
  const name = ref.replace(/^refs\/heads\//, '');
  throw new InitRefusedError(
    'BRANCH',
    `${store.dir} is on branch ${name}; a state repo keeps its state on main: rename it with "git -C ${store.dir} branch -m ${name} main" and run gitstate init again`,
  );
}

interface Failure {
  file: string;
  code: string;
  message: string;
}

interface AdoptionPlan {
  /** Files to commit as they are, sorted. */
  adopt: string[];
  /** Their bytes as checked. */
  checked: Map<string, Buffer>;
  /** Their read/write permission bits (git keeps no others for them). */
  modes: Map<string, number>;
  /** Every file in the folder (seeds are added only where none is). */
  present: Set<string>;
  excluded: Array<{ path: string; reason: string }>;
  failures: Failure[];
  warnings: InitReport['warnings'];
  /** The folder's .gitignore text, or the template when it has none. */
  gitignore: string;
}

const NOT_MANAGED = 'not a .yaml, .yml or .json file: gitstate does not manage it';

/** Walk the folder and sort its files into adopted, left out, and refused. */
async function planAdoption(dir: string, store: GitStore, tracked: Set<string>): Promise<AdoptionPlan> {
  const plan: AdoptionPlan = { adopt: [], checked: new Map(), modes: new Map(), present: new Set(), excluded: [], failures: [], warnings: [], gitignore: GITIGNORE };
  try {
    plan.gitignore = readFileSync(join(dir, '.gitignore'), 'utf8');
  } catch {
    // none: the template
  }
  let checks: Checks;
  try {
    checks = await loadChecks(dir);
  } catch (err) {
    // a broken allow-list or user schema: said once, for the file it is in
    plan.failures.push(failure(err, (err as { data?: { file?: string } }).data?.file ?? '.gitstate'));
    return plan;
  }
  const ignored = async (path: string) => path.startsWith('.gitstate/local/') || path.endsWith('.lock') || (await store.isIgnored(path));

  /** Returns whether the folder holds anything that is committed (so a folder of only left-out files is left out whole). */
  const walk = async (rel: string): Promise<boolean> => {
    let committed = false;
    const leftOut: Array<{ path: string; reason: string }> = [];
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (path === '.git' || (await ignored(path))) continue;
      const stats = lstatSync(join(dir, path));
      const managed = STATE_EXTENSIONS.some((ext) => name.endsWith(ext));
      if (stats.isDirectory()) {
        const before = plan.excluded.length;
        if (await walk(path)) committed = true;
        else if (plan.excluded.length > before && !plan.failures.some((f) => f.file.startsWith(`${path}/`))) {
          plan.excluded.splice(before);
          leftOut.push({ path: `${path}/`, reason: 'holds no file gitstate manages' });
        }
        continue;
      }
      plan.present.add(path);
      if (tracked.has(path)) {
        committed = true;
        continue;
      }
      if (stats.isSymbolicLink() && managed) plan.failures.push({ file: path, code: 'PATH', message: `${path} is a symbolic link; state files must be plain files inside the state directory` });
      else if (!stats.isFile() || stats.isSymbolicLink()) leftOut.push({ path, reason: stats.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' });
      else if (name === 'config.json') leftOut.push({ path, reason: 'static configuration with credentials: never stored in the state repo' });
      else if (path === '.gitignore') {
        // merged with gitstate's rules and committed
        await scanTextForSecrets(path, plan.gitignore).catch((err: unknown) => plan.failures.push(failure(err, path)));
        committed = true;
      }
      else if (name === '.gitkeep') {
        // keeps a folder such as projects/: committed, so the folder is never left out
        try {
          await scanTextForSecrets(path, readFileSync(join(dir, path), 'utf8'));
          plan.adopt.push(path);
          plan.checked.set(path, readFileSync(join(dir, path)));
        } catch (err) {
          plan.failures.push(failure(err, path));
        }
        committed = true;
      }
      else if (path === FORMAT_FILE) {
        try {
          if (parseFormat(readFileSync(join(dir, path), 'utf8'), path) > FORMAT_VERSION) throw new RepoError(`${path} names format ${FORMAT_VERSION + 1} or newer, made by a newer gitstate; upgrade gitstate`);
        } catch (err) {
          plan.failures.push(failure(err, path));
        }
        committed = true; // rewritten with this gitstate's format
      } else if (!managed) leftOut.push({ path, reason: NOT_MANAGED });
      else {
        const bytes = readFileSync(join(dir, path));
        try {
          const warning = await checkAdopted(path, bytes, checks);
          if (warning) plan.warnings.push({ path, code: warning.code, message: warning.message });
          plan.adopt.push(path);
          plan.checked.set(path, bytes);
          plan.modes.set(path, stats.mode & 0o666);
        } catch (err) {
          plan.failures.push(failure(err, path));
        }
        committed = true;
      }
    }
    plan.excluded.push(...leftOut);
    return committed;
  };
  await walk('');
  for (const path of tracked) await warnTracked(dir, path, store, checks, plan);
  plan.adopt.sort();
  plan.excluded.sort((a, b) => (a.path < b.path ? -1 : 1));
  return plan;
}

/** A file already committed in an existing repo stays; what a write would refuse in it is said as a warning. */
async function warnTracked(dir: string, path: string, store: GitStore, checks: Checks, plan: AdoptionPlan): Promise<void> {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'config.json') {
    plan.warnings.push({ path, code: 'PATH', message: `${path} is committed in this repository; gitstate never stores config.json: remove it with "git -C ${dir} rm --cached ${path}"` });
    return;
  }
  if (!STATE_EXTENSIONS.some((ext) => name.endsWith(ext))) return;
  const blob = await store.blobOidAt(await store.headOid(), path);
  if (!blob) return;
  try {
    const warning = await checkAdopted(path, Buffer.from(await store.readBlob(blob)), checks);
    if (warning) plan.warnings.push({ path, code: warning.code, message: warning.message });
  } catch (err) {
    const f = failure(err, path);
    plan.warnings.push({ path, code: f.code, message: `${f.message} (already committed; fix it with a write or gitstate commit)` });
  }
}

interface Checks {
  allow: Awaited<ReturnType<typeof import('../security/secrets.js').loadAllowList>>;
  schemas: Awaited<ReturnType<typeof import('../schema/user.js').loadUserSchemas>>;
}

/** The folder's own allow-list and user schemas, read before any file is checked. */
async function loadChecks(dir: string): Promise<Checks> {
  const [{ loadAllowList }, { loadUserSchemas }] = await Promise.all([import('../security/secrets.js'), import('../schema/user.js')]);
  return { allow: await loadAllowList(dir), schemas: await loadUserSchemas(dir) };
}

/**
 * The checks of a file to adopt: path rules, size, parse and the secret guard
 * throw; a schema failure is returned as a warning (the file is kept).
 */
async function checkAdopted(path: string, bytes: Uint8Array, checks: Checks): Promise<GitstateError | null> {
  if (normalizeStatePath(path) !== path) throw new PathError(`${path}: a top-level folder named "state" is read as the state directory itself; rename it`);
  const value = getValue(parseStateText(decodeText(bytes, path), path), []);
  await scanForSecrets(path, bytes, checks);
  const { validateContent } = await import('../schema/validate.js');
  try {
    validateContent(path, value, checks.schemas);
  } catch (err) {
    if (err instanceof GitstateError && err.code === 'SCHEMA') return err;
    throw err;
  }
  return null;
}

/** A file that changed on disk between the check and the commit: checked again, as any file gitstate commits. */
async function recheck(path: string, bytes: Uint8Array, checks: Checks): Promise<void> {
  if (path.endsWith('.gitkeep')) return scanTextForSecrets(path, decodeText(bytes, path));
  await checkAdopted(path, bytes, checks);
}

/** The secret guard over every byte of a file init adopts (raw text, comments included, and data), with the folder's allow-list. */
async function scanForSecrets(path: string, bytes: Uint8Array, checks?: Checks): Promise<void> {
  const { scanFile } = await import('../security/secrets.js');
  const hit = scanFile(path, bytes).find((f) => !checks?.allow.allowsFinding(path, f));
  if (hit) throw new SecretError(`${path}: ${hit.key ?? `line ${hit.line ?? '?'}`}: looks like a secret (rule ${hit.rule}, fingerprint fp:${hit.fingerprint}); secrets are never committed`);
}

/** ...and over the text of any other file init commits. */
function scanTextForSecrets(path: string, text: string): Promise<void> {
  return scanForSecrets(path, Buffer.from(text));
}

function failure(err: unknown, file: string): Failure {
  return { file, code: err instanceof GitstateError ? err.code : 'RUNTIME', message: messageOf(err) };
}

/** The .gitignore to commit: the folder's own (or the template), with gitstate's rules and the left-out files added. */
export function gitignoreText(current: string, excluded: ReadonlyArray<{ path: string }>): string {
  const lines = new Set(current.split('\n').map((l) => l.trim()));
  let text = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  const missing = LOCAL_RULES.filter((rule) => !lines.has(rule));
  if (missing.length > 0) text += `${text ? '\n' : ''}# Local-only files: never committed, never synced.\n${missing.join('\n')}\n`;
  const entries = excluded.map((e) => `/${escapeGitignore(e.path)}`).filter((l) => !lines.has(l));
  if (entries.length > 0) text += `\n# Left out by gitstate init: files gitstate does not manage, and config.json.\n${entries.join('\n')}\n`;
  return text;
}

/** A path as a literal .gitignore pattern. */
function escapeGitignore(path: string): string {
  return path.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ $/, '\\ ');
}

async function trackedPaths(store: GitStore): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (tree: string, prefix: string): Promise<void> => {
    for (const entry of await store.readTree(tree)) {
      if (entry.type === 'tree') await walk(entry.oid, `${prefix}${entry.path}/`);
      else out.add(`${prefix}${entry.path}`);
    }
  };
  const head = await store.headOid();
  if (head) await walk(await store.treeOf(head), '');
  return out;
}

/** Install the pre-commit hook; a hook of the user's own is left alone. */
async function installHook(store: GitStore): Promise<boolean> {
  return installHooks(store.gitdir).catch(() => false);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Pin the config a state repo needs, and copy native git's user.name /
 * user.email into the repo's own config when it has none, so writes never ask
 * git for them (a child process per write). Returns the keys it copied.
 */
export async function configureRepository(store: GitStore): Promise<{ recorded: string[]; skipped: string[] }> {
  for (const [key, value] of Object.entries({ ...PINNED_CONFIG, ...probeFileSystem(store.gitdir) })) {
    if ((await store.getConfig(key)) !== value) await store.setConfig(key, value);
  }
  await respellIndex(store);
  const recorded: string[] = [];
  const skipped: string[] = [];
  for (const [key, check] of [['user.name', checkName], ['user.email', checkEmail]] as const) {
    if (await store.getConfig(key)) continue;
    const value = await nativeIdentity(store.gitdir, key);
    if (value === undefined) continue;
    let checked: string;
    try {
      checked = check(value, `git's ${key}`);
    } catch (err) {
      // not recorded: every later write would be refused for it
      skipped.push(`${(err as Error).message}; not copied into the state repo, whose commits name the host instead (set it with git -C DIR config ${key} VALUE)`);
      continue;
    }
    await store.setConfig(key, checked);
    recorded.push(key);
  }
  return { recorded, skipped };
}

/**
 * An index native git wrote in a layout the pins rule out and a write cannot
 * rewrite whole (version 4, from feature.manyFiles; a split index): git writes
 * it again in version 2, whole. Without git, the first write says how.
 */
async function respellIndex(store: GitStore): Promise<void> {
  if (indexRefusalAt(store.dir, store.gitdir, [])?.kind !== 'layout') return;
  await new Promise<void>((resolve) => execFile('git', ['-C', store.dir, 'update-index', '--no-split-index', '--index-version', '2'], () => resolve()));
}

/**
 * What native git's init finds out about the file system, which isomorphic-git's
 * init does not (it writes ignorecase=true and symlinks=false everywhere): with
 * ignorecase on a case-sensitive disk, git takes Notes.yaml and notes.yaml for
 * one file.
 */
function probeFileSystem(gitdir: string): Record<string, string> {
  const ignoreCase = existsSync(join(gitdir, 'CoNfIg')); // the config file, found under another case
  const probe = join(gitdir, `gitstate-symlink-probe-${process.pid}`);
  let symlinks = true;
  try {
    symlinkSync('target', probe);
  } catch {
    symlinks = false;
  }
  rmSync(probe, { force: true });
  return { 'core.ignorecase': String(ignoreCase), 'core.symlinks': String(symlinks) };
}

/**
 * The value native git would use for `key` in this repository: its system and global config
 * with includes followed (`[include]`, and `[includeIf]` judged for this repository), the repo's
 * own config having none.
 */
function nativeIdentity(gitdir: string, key: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', [`--git-dir=${gitdir}`, 'config', '--includes', '--get', key], { timeout: 5_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}
