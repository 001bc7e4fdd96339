/**
 * Talking to remotes. http(s) goes through isomorphic-git; ssh and local paths,
 * which it cannot speak, through the system git. Every operation has a deadline:
 * a dead or hanging remote is a clear error, never a hang or a false success.
 * Credentials come from GITSTATE_TOKEN / GITSTATE_USERNAME or git's credential
 * helper, and are never printed, logged, or written to .git/config.
 */
import { execFile } from 'node:child_process';
import { httpFetch, httpPush, type AuthCallback, type HttpTransfer, type ProgressEvent } from '../git/http.js';
import { GitstateError, PushRejectedError, SyncError, UsageError } from '../errors.js';

export { PushRejectedError, SyncError };
import type { StateRepo } from '../core/repo.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const BRANCH = 'main';

export type Transport = 'http' | 'native';

export interface TransferOptions {
  timeoutMs?: number;
  onProgress?: (event: ProgressEvent) => void;
}

/** http(s) URLs go through isomorphic-git; ssh and local paths through the system git. */
export function transportOf(url: string): Transport {
  return /^https?:\/\//i.test(url) ? 'http' : 'native';
}

/** A remote URL must not carry credentials: they would end up in .git/config. */
export function checkRemoteUrl(url: string): void {
  if (/^https?:\/\//i.test(url)) {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      throw new UsageError('the remote URL carries credentials; give the URL without them and put the token in GITSTATE_TOKEN (or a git credential helper)');
    }
  } else if (!/^(ssh:\/\/|git@|[\w.-]+@[\w.-]+:|file:\/\/|\/)/.test(url)) {
    throw new UsageError(`unsupported remote URL "${url}": use https://, ssh:// (or user@host:path), or an absolute local path`);
  }
}

/** Fetch the remote's branch into refs/remotes/<remote>/main; its commit, or null when the remote has none yet. */
export async function fetchBranch(repo: StateRepo, remote: string, url: string, options: TransferOptions = {}): Promise<string | null> {
  const store = await repo.store();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (transportOf(url) === 'native') {
    const ls = await runGit(repo.dir, ['ls-remote', '--heads', remote, BRANCH], timeoutMs, url);
    if (!ls.trim()) return null;
    await runGit(repo.dir, ['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${BRANCH}:refs/remotes/${remote}/${BRANCH}`], timeoutMs, url);
  } else {
    await withDeadline(timeoutMs, url, async (signal) => {
      try {
        await httpFetch(store, transfer(url, remote, signal, options));
      } catch (err) {
        // A remote without the branch yet (a fresh bare repo, HEAD unset or dangling).
        const code = (err as { code?: string }).code;
        if (code === 'NotFoundError' || code === 'EmptyServerResponseError') return;
        throw err;
      }
    });
  }
  return store.resolveRef(`refs/remotes/${remote}/${BRANCH}`).catch(() => null);
}

/** Push our branch; never forced. A non-fast-forward is a PushRejectedError. */
export async function pushBranch(repo: StateRepo, remote: string, url: string, options: TransferOptions = {}): Promise<void> {
  const store = await repo.store();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (transportOf(url) === 'native') {
    try {
      await runGit(repo.dir, ['push', '--quiet', remote, `refs/heads/${BRANCH}:refs/heads/${BRANCH}`], timeoutMs, url);
    } catch (err) {
      if (/rejected|non-fast-forward|fetch first/i.test((err as Error).message)) throw new PushRejectedError(`the remote ${remote} has commits this repository does not; sync again`);
      throw err;
    }
    return;
  }
  await withDeadline(timeoutMs, url, async (signal) => {
    try {
      const result = await httpPush(store, transfer(url, remote, signal, options));
      if (!result.ok) throw new SyncError(`push to ${redact(url)} failed: ${result.error ?? 'refused'}`);
    } catch (err) {
      const e = err as { code?: string; data?: { result?: { refs?: Record<string, { error?: string }> } } };
      // Rejected before sending (the advertised ref is not ours), or by the server when the
      // branch moved between its advertisement and our update: either way, fetch and merge again.
      const refError = Object.values(e.data?.result?.refs ?? {}).map((r) => r.error ?? '').join(' ');
      if (e.code === 'PushRejectedError' || (e.code === 'GitPushError' && /fast-forward|fetch first|lock|stale|failed to update/i.test(refError))) {
        throw new PushRejectedError(`the remote ${remote} has commits this repository does not; sync again`);
      }
      if (e.code === 'GitPushError') throw new SyncError(`the remote ${remote} refused the push: ${refError.trim() || 'no reason given'}`);
      throw err;
    }
  });
}

/** Run `fn` with an abort signal that fires after `timeoutMs`; a timeout or network failure becomes a SyncError. */
async function withDeadline<T>(timeoutMs: number, url: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SyncError(`${redact(url)} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(controller.signal), deadline]);
  } catch (err) {
    if (err instanceof GitstateError) throw err;
    throw new SyncError(`talking to ${redact(url)} failed: ${describeNetworkError(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** What fetch and push share: the remote, the deadline, credentials. */
function transfer(url: string, remote: string, signal: AbortSignal, options: TransferOptions): HttpTransfer {
  return { url, remote, branch: BRANCH, signal, onAuth: credentials(url), onAuthFailure: () => ({ cancel: true }), onProgress: options.onProgress };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
  if (e.code === 'HttpError' && e.data?.statusCode) return `HTTP ${e.data.statusCode} ${e.data.statusMessage ?? ''}`.trim();
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  return (e.message ?? String(err)).split('\n')[0]!;
}

/** onAuth: GITSTATE_TOKEN (with GITSTATE_USERNAME), else `git credential fill`. */
function credentials(url: string): AuthCallback {
  return async () => {
    const token = process.env.GITSTATE_TOKEN;
    if (token) return { username: process.env.GITSTATE_USERNAME || 'gitstate', password: token };
    const filled = await credentialFill(url);
    return filled ?? { cancel: true };
  };
}

function credentialFill(url: string): Promise<{ username: string; password: string } | null> {
  return new Promise((resolve) => {
    const parsed = new URL(url);
    const input = `protocol=${parsed.protocol.replace(':', '')}\nhost=${parsed.host}\npath=${parsed.pathname.replace(/^\//, '')}\n\n`;
    const child = execFile('git', ['credential', 'fill'], { timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout) => {
      if (err) return resolve(null);
      const fields = Object.fromEntries(stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      resolve(fields.username && fields.password ? { username: fields.username, password: fields.password } : null);
    });
    child.stdin?.end(input);
  });
}

/** The system git for ssh and local remotes, with a deadline; never prompts. */
function runGit(dir: string, args: string[], timeoutMs: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: dir, timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? `ssh -o BatchMode=yes -o ConnectTimeout=${Math.ceil(timeoutMs / 1000)}` } }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as { code?: string }).code === 'ENOENT') return reject(new SyncError(`${redact(url)} needs the system git (ssh and local remotes), which is not installed`));
      if ((err as { killed?: boolean }).killed) return reject(new SyncError(`${redact(url)} did not answer within ${timeoutMs} ms`));
      reject(new SyncError(`git ${args[0]} ${redact(url)} failed: ${stderr.trim().split('\n').pop() ?? err.message}`));
    });
  });
}

/** A URL safe to print: no userinfo, no query. */
export function redact(url: string): string {
  try {
    if (!/^https?:/i.test(url)) return url;
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return url;
  }
}
