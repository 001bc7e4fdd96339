/**
 * Talking to remotes. The system git carries every transfer when it is
 * installed (ssh and local paths need it; for http(s) it does negotiation,
 * pack building and indexing several times faster than isomorphic-git);
 * without it, http(s) goes through isomorphic-git. GITSTATE_HTTP_TRANSPORT=
 * isomorphic picks isomorphic-git even where git is installed.
 *
 * Every operation has a deadline: a silent remote is a clear error, never a
 * hang or a false success. Credentials come from GITSTATE_TOKEN /
 * GITSTATE_USERNAME or git's credential helper, and are never printed, logged,
 * passed on a command line, or written to .git/config. Every error names the
 * remote, its URL and the operation, and keeps what the server said.
 */
import { execFile } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';
import type { StateRepo } from '../core/repo.js';
import type { ProgressEvent } from '../git/http.js';
import { GitMissingError, gitConfig, gitMessage, runGit, type GitRun } from '../git/native.js';
import { AuthError, PushRefusedError, PushRejectedError, RemoteBranchError, SyncError } from './errors.js';

export { PushRejectedError, SyncError };

export const DEFAULT_TIMEOUT_MS = 30_000;
/** The local branch: the store, history and locks assume it. */
export const BRANCH = 'main';

export type UrlKind = 'http' | 'ssh' | 'local';

export interface TransferOptions {
  /** Give up on a remote that has been silent this long. */
  timeoutMs?: number;
  onProgress?: (event: ProgressEvent) => void;
}

export interface FetchOptions extends TransferOptions {
  /** The branch was named with --branch and the remote has others, not it: fetch nothing, the push makes it. */
  startBranch?: boolean;
}

/** A remote as sync uses it: its name, URL, and the remote branch our main tracks. */
export interface RemoteTarget {
  remote: string;
  url: string;
  branch: string;
  /** The branch was named (`--branch`), not main by default. */
  named?: boolean;
}

/** scp-like `[user@]host:path` (git's rule: a colon before any slash). */
const SCP_LIKE = /^(?:[^@/\s]+@)?[A-Za-z0-9._-]{2,}:(?!\/\/)/;

export function urlKind(url: string): UrlKind {
  if (/^https?:\/\//i.test(url)) return 'http';
  if (/^(?:ssh|git\+ssh|ssh\+git):\/\//i.test(url) || (!url.includes('://') && SCP_LIKE.test(url))) return 'ssh';
  return 'local';
}

/** A remote URL must not carry credentials (they would end up in .git/config) and must be one git can reach. */
export function checkRemoteUrl(url: string): void {
  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`invalid remote URL "${url}"`);
    }
    if (parsed.username || parsed.password) {
      throw new UsageError('the remote URL carries credentials; give the URL without them and put the token in GITSTATE_TOKEN (or a git credential helper)');
    }
    return;
  }
  if (urlKind(url) === 'ssh' || /^file:\/\//.test(url) || isAbsolute(url)) return;
  throw new UsageError(`unsupported remote URL "${url}": use https://, ssh:// (or [user@]host:path, an ssh config alias works), or an absolute local path`);
}

/** The remote-tracking ref a fetch of `target` fills. */
export function trackingRef(target: Pick<RemoteTarget, 'remote' | 'branch'>): string {
  return `refs/remotes/${target.remote}/${target.branch}`;
}

/** http(s) through isomorphic-git asked for (GITSTATE_HTTP_TRANSPORT=isomorphic); without it, isomorphic-git only when git is missing. */
function isomorphicAsked(url: string): boolean {
  return urlKind(url) === 'http' && process.env.GITSTATE_HTTP_TRANSPORT === 'isomorphic';
}

/**
 * Run a transfer through the system git, or return null when the remote is
 * http(s) and the system git turns out to be missing: the caller then uses
 * isomorphic-git. (Starting git is how its absence is found: no probe delays
 * every transfer.)
 */
async function nativeOrNull(repo: StateRepo, target: RemoteTarget, what: string, args: string[], options: TransferOptions): Promise<GitRun | null> {
  try {
    return await native(repo, target, what, args, options);
  } catch (err) {
    if (err instanceof GitMissing && urlKind(target.url) === 'http') return null;
    throw err;
  }
}

/** Fetch the remote's branch into its tracking ref; its commit, or null when the remote has no branches at all. */
export async function fetchBranch(repo: StateRepo, target: RemoteTarget, options: FetchOptions = {}): Promise<string | null> {
  const refspec = `+refs/heads/${target.branch}:${trackingRef(target)}`;
  const fetch = () => nativeOrNull(repo, target, 'fetch', ['fetch', '--no-tags', '--no-write-fetch-head', '--progress', target.remote, refspec], options);
  let run = isomorphicAsked(target.url) ? null : await fetch();
  // another process's fetch moved the tracking ref while this one ran (git's ref lock): fetch again, it has the objects now
  for (let again = 0; again < 3 && run && run.code !== 0 && /cannot lock ref '[^']*refs\/remotes\//.test(run.stderr); again++) run = await fetch();
  if (run) {
    if (run.code !== 0) {
      if (!/couldn't find remote ref/i.test(run.stderr)) throw await failure(repo, target, 'fetch from', run);
      const branches = await nativeBranches(repo, target, options);
      if (branches.length > 0 && !options.startBranch) throw missingBranch(target, branches);
      return null;
    }
  } else {
    const http = await import('./http-transport.js');
    const outcome = await http.fetchOverHttp(repo, target, options);
    if (outcome === 'no-branch') {
      const branches = await http.branchesOverHttp(repo, target, options);
      if (branches.length > 0 && !options.startBranch) throw missingBranch(target, branches);
      return null;
    }
  }
  // opened after git started: the fetch does not wait for the store's modules
  const store = await repo.store();
  store.packs.refresh(); // the pack the fetch brought: its objects are read directly
  return store.resolveRef(trackingRef(target));
}

/** Push our main to the remote's branch; never forced. PushRejectedError when the remote moved (fetch, merge, push again). */
export async function pushBranch(repo: StateRepo, target: RemoteTarget, options: TransferOptions = {}): Promise<{ pushed: boolean }> {
  const to = `refs/heads/${target.branch}`;
  const run = isomorphicAsked(target.url) ? null : await nativeOrNull(repo, target, 'push', ['push', '--porcelain', '--progress', target.remote, `refs/heads/${BRANCH}:${to}`], options);
  if (!run) return (await import('./http-transport.js')).pushOverHttp(repo, target, options);
  // --porcelain: "<flag>\t<from>:<to>\t<summary>" per ref, on stdout
  const line = run.stdout.split('\n').map((l) => l.split('\t')).find((f) => f.length >= 3 && f[1]!.endsWith(`:${to}`));
  if (run.code === 0) return { pushed: line?.[0] !== '=' };
  if (line?.[0] === '!') throw rejection(target, line[2]!, serverLines(run.stderr));
  throw await failure(repo, target, 'push to', run);
}

/**
 * A push the server turned down: retried when the branch moved (non-fast-forward,
 * "fetch first", or our ref update lost a race on the server); a clear error,
 * never retried, when a hook or a protected branch refused it.
 */
export function rejection(target: RemoteTarget, reason: string, server: string): PushRejectedError | PushRefusedError {
  const said = server ? `; the server said: ${server}` : '';
  if (!/declined|protected|denied|not allowed/i.test(reason + server) && /no[nt]-fast-forward|fetch first|failed to update ref|failed to lock|cannot lock ref|stale info|incorrect old value|but expected/i.test(reason + server)) {
    return new PushRejectedError(`push to ${target.remote} (${redact(target.url)}) rejected: its ${target.branch} moved (${reason.trim()}); fetch and merge again${said}`, { reason });
  }
  return new PushRefusedError(`push to ${target.remote} (${redact(target.url)}) refused: ${reason.trim()}${said}`, { reason });
}

/** The server's own text: its `remote:` lines, without the prefix and progress. */
/**
 * The server's own lines (`remote: …`) in git's stderr. Split at carriage returns too: a progress
 * line ends in one, and a server line that arrives while it is drawn follows it on the same line.
 */
export function serverLines(stderr: string): string {
  return gitMessage(stderr.split(/\r?\n|\r/).filter((l) => l.startsWith('remote:')).join('\n')).replace(/(^|; )remote: /g, '$1');
}

function missingBranch(target: RemoteTarget, branches: string[]): RemoteBranchError {
  const list = branches.slice(0, 5).join(', ');
  return new RemoteBranchError(
    `${target.remote} (${redact(target.url)}) has no branch ${target.branch}; it has ${list}. Track one with --branch (gitstate clone URL --branch ${branches[0]}, or gitstate remote add NAME URL --branch ${branches[0]})`,
    { branches },
  );
}

// ---- the system git ---------------------------------------------------------

/** The system git is not installed (ssh and local remotes need it; http(s) falls back to isomorphic-git). */
class GitMissing extends SyncError {}

/** Run git for a transfer (GitMissing when it is not installed). */
async function native(repo: StateRepo, target: RemoteTarget, what: string, args: string[], options: TransferOptions): Promise<GitRun> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = await nativeEnv(repo, target, timeoutMs);
  let run: GitRun;
  try {
    run = await runGit(args, { cwd: repo.dir, env, idleTimeoutMs: timeoutMs, onProgress: options.onProgress });
  } catch (err) {
    if (err instanceof GitMissingError) throw new GitMissing(`${what} ${target.remote} (${redact(target.url)}) needs the system git (ssh and local remotes), which is not installed`);
    throw err;
  }
  if (run.timedOut) throw new SyncError(`${what} ${target.remote} (${redact(target.url)}): ${redact(target.url)} did not answer within ${timeoutMs} ms`);
  return run;
}

/** A shell credential helper answering from the environment, so the token is never on a command line or in a file. */
const TOKEN_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "\${GITSTATE_USERNAME:-gitstate}" "$GITSTATE_TOKEN"; }; f`;

async function nativeEnv(repo: StateRepo, target: RemoteTarget, timeoutMs: number): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  const config: Array<[string, string]> = [];
  const kind = urlKind(target.url);
  // The user's own ssh command (GIT_SSH_COMMAND, GIT_SSH, core.sshCommand) wins; ours only never prompts.
  if (kind === 'ssh' && !env.GIT_SSH_COMMAND && !env.GIT_SSH && !(await gitConfig(repo.dir, 'core.sshCommand'))) {
    env.GIT_SSH_COMMAND = `ssh -o BatchMode=yes -o ConnectTimeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}`;
  }
  if (kind === 'http' && env.GITSTATE_TOKEN) {
    // An empty helper first empties the list: the token is not handed to (or stored by) the user's helpers.
    config.push(['credential.helper', ''], ['credential.helper', TOKEN_HELPER]);
  }
  if (config.length > 0) {
    const start = Number(env.GIT_CONFIG_COUNT) || 0;
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${start + i}`] = key;
      env[`GIT_CONFIG_VALUE_${start + i}`] = value;
    });
    env.GIT_CONFIG_COUNT = String(start + config.length);
  }
  return env;
}

async function nativeBranches(repo: StateRepo, target: RemoteTarget, options: TransferOptions): Promise<string[]> {
  const run = await native(repo, target, 'list the branches of', ['ls-remote', '--symref', target.remote, 'HEAD', 'refs/heads/*'], options);
  if (run.code !== 0) throw await failure(repo, target, 'list the branches of', run);
  const lines = run.stdout.split('\n');
  const head = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(run.stdout)?.[1];
  const branches = lines
    .map((l) => l.split('\t')[1] ?? '')
    .filter((r) => r.startsWith('refs/heads/'))
    .map((r) => r.slice('refs/heads/'.length));
  return headFirst(branches, head);
}

/** The remote's branches with the one its HEAD names (what `git clone` would check out) first. */
export function headFirst(branches: string[], head: string | undefined): string[] {
  return head && branches.includes(head) ? [head, ...branches.filter((b) => b !== head)] : branches;
}

const AUTH_FAILED = /Authentication failed for|could not read (?:Username|Password)|HTTP Basic: Access denied|returned error: 40[13]\b/i;

async function failure(repo: StateRepo, target: RemoteTarget, what: string, run: GitRun): Promise<Error> {
  if (urlKind(target.url) === 'http' && AUTH_FAILED.test(run.stderr)) {
    const given = !/could not read (?:Username|Password)/i.test(run.stderr);
    return authError(target, what, await credentialSource(repo.dir, target.url), given);
  }
  const said = gitMessage(run.stderr) || `git exited with status ${run.code}`;
  return new SyncError(`${what} ${target.remote} (${redact(target.url)}) failed: ${redactText(said)}`);
}

// ---- credentials ----------------------------------------------------------------

export type CredentialSource = 'GITSTATE_TOKEN' | 'credential helper' | 'none';

/** Where credentials for `url` come from: GITSTATE_TOKEN, else git's credential helper if one is configured, else none. */
export async function credentialSource(dir: string, url: string): Promise<CredentialSource> {
  if (process.env.GITSTATE_TOKEN) return 'GITSTATE_TOKEN';
  return (await gitConfig(dir, 'credential.helper', url)) ? 'credential helper' : 'none';
}

/** "authentication failed for <remote>", and where the credentials came from. `given`: some were offered and refused. */
export function authError(target: RemoteTarget, what: string, source: CredentialSource, given: boolean): AuthError {
  const why =
    source === 'GITSTATE_TOKEN'
      ? `the server refused the token in GITSTATE_TOKEN (user ${process.env.GITSTATE_USERNAME || 'gitstate'}; set GITSTATE_USERNAME if the host wants another)`
      : source === 'credential helper'
        ? given
          ? "the server refused the credentials from git's credential helper, which was told to forget them (git credential reject)"
          : "git's credential helper had no credentials for this URL; set GITSTATE_TOKEN or store them in the helper"
        : 'no credentials were given: set GITSTATE_TOKEN (and GITSTATE_USERNAME), or configure a git credential helper';
  return new AuthError(`authentication failed for ${target.remote} (${redact(target.url)}) on ${what.split(' ')[0]}: ${why}`, { source });
}

/** Ask git's credential helper: `git credential fill|approve|reject`. Fill answers null when it has nothing. */
export function credentialHelper(action: 'fill' | 'approve' | 'reject', url: string, given?: { username: string; password: string }): Promise<{ username: string; password: string } | null> {
  return new Promise((resolveFill) => {
    const parsed = new URL(url);
    const fields = [`protocol=${parsed.protocol.replace(':', '')}`, `host=${parsed.host}`, `path=${parsed.pathname.replace(/^\//, '')}`];
    if (given) fields.push(`username=${given.username}`, `password=${given.password}`);
    const child = execFile('git', ['credential', action], { timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout) => {
      if (err || action !== 'fill') return resolveFill(null);
      const out = Object.fromEntries(stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      resolveFill(out.username && out.password ? { username: out.username, password: out.password } : null);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(`${fields.join('\n')}\n\n`);
  });
}

// ---- printing ---------------------------------------------------------------------

/** A URL safe to print: no userinfo, no query. Anything that is not a URL is returned as it is. */
export function redact(url: string): string {
  if (!/^https?:\/\/\S+$/i.test(url)) return url;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** Text with any credentials inside URLs in it removed (`https://user:pass@host` -> `https://host`). */
export function redactText(text: string): string {
  return text.replace(/\b(https?:\/\/)[^\s/@]+@/gi, '$1');
}
