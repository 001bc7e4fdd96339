/**
 * http(s) through isomorphic-git, for machines without the system git (and
 * GITSTATE_HTTP_TRANSPORT=isomorphic). The same outcomes as the native path:
 * a rejected push is recognised from PushRejectedError and from the per-ref
 * `ng` statuses of the server's report; 401/403 is "authentication failed",
 * and the credential helper hears whether its password worked.
 */
import type { StateRepo } from '../core/repo.js';
import { GitstateError } from '../errors.js';
import { httpFetch, httpListBranches, httpPush, type AuthCallback, type HttpTransfer } from '../git/http.js';
import { gitConfig } from '../git/native.js';
import { SyncError } from './errors.js';
import { authError, BRANCH, headFirst, credentialHelper, credentialSource, DEFAULT_TIMEOUT_MS, redact, rejection, type RemoteTarget, type TransferOptions } from './transport.js';

/** Fetch; 'no-branch' when the remote has no such branch (empty, or other branches only). */
export async function fetchOverHttp(repo: StateRepo, target: RemoteTarget, options: TransferOptions): Promise<'ok' | 'no-branch'> {
  const store = await repo.store();
  return withTransfer(repo, target, 'fetch from', options, async (transfer) => {
    try {
      await httpFetch(store, transfer);
      return 'ok';
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotFoundError' || code === 'EmptyServerResponseError') return 'no-branch';
      throw err;
    }
  });
}

export async function branchesOverHttp(repo: StateRepo, target: RemoteTarget, options: TransferOptions): Promise<string[]> {
  const { branches, head } = await withTransfer(repo, target, 'list the branches of', options, (transfer) => httpListBranches(transfer));
  return headFirst(branches, head);
}

export async function pushOverHttp(repo: StateRepo, target: RemoteTarget, options: TransferOptions): Promise<{ pushed: boolean }> {
  const store = await repo.store();
  const head = await store.headOid();
  const before = await store.resolveRef(`refs/remotes/${target.remote}/${target.branch}`);
  return withTransfer(repo, target, 'push to', options, async (transfer, server) => {
    try {
      const result = await httpPush(store, transfer);
      const ref = result.refs[`refs/heads/${target.branch}`];
      if (!result.ok || (ref && !ref.ok)) throw rejection(target, ref?.error ?? result.error ?? 'refused', server());
      return { pushed: head !== before };
    } catch (err) {
      const e = err as { code?: string; data?: { reason?: string; result?: { refs?: Record<string, { ok?: boolean; error?: string }> } } };
      // Rejected before sending (the advertised ref is not an ancestor of ours)...
      if (e.code === 'PushRejectedError') throw rejection(target, e.data?.reason ?? 'non-fast-forward', server());
      // ...or by the server: an `ng <ref> <reason>` in its report.
      if (e.code === 'GitPushError') {
        const reasons = Object.values(e.data?.result?.refs ?? {}).map((r) => r.error ?? '').filter(Boolean);
        throw rejection(target, reasons.join('; ') || 'no reason given', server());
      }
      throw err;
    }
  });
}

/**
 * Run one transfer with a deadline, the credentials, and the server's messages
 * collected; failures become errors that name the remote and the operation.
 */
async function withTransfer<T>(repo: StateRepo, target: RemoteTarget, what: string, options: TransferOptions, fn: (transfer: HttpTransfer, server: () => string) => Promise<T>): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  const messages: string[] = [];
  const auth = credentials(target.url);
  const caFile = process.env.GIT_SSL_CAINFO || (await gitConfig(repo.dir, 'http.sslCAInfo', target.url)) || undefined;
  const transfer: HttpTransfer = {
    url: target.url,
    remote: target.remote,
    branch: BRANCH,
    remoteBranch: target.branch,
    signal: controller.signal,
    onAuth: auth.onAuth,
    onAuthFailure: auth.onFailure,
    onAuthSuccess: auth.onSuccess,
    onProgress: options.onProgress,
    onMessage: (m) => messages.push(...m.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l && !/^(?:Enumerating|Counting|Compressing|Writing|Resolving|Total)\b/.test(l))),
    caFile,
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SyncError(`${what} ${target.remote} (${redact(target.url)}): ${redact(target.url)} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(transfer, () => [...new Set(messages)].join('; ')), deadline]);
  } catch (err) {
    if (err instanceof GitstateError) throw err;
    const e = err as { code?: string; data?: { statusCode?: number } };
    if (e.code === 'UserCanceledError' || (e.code === 'HttpError' && (e.data?.statusCode === 401 || e.data?.statusCode === 403))) {
      throw authError(target, what, auth.source() ?? (await credentialSource(repo.dir, target.url)), auth.offered());
    }
    throw new SyncError(`${what} ${target.remote} (${redact(target.url)}) failed: ${describeNetworkError(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** onAuth from GITSTATE_TOKEN, else `git credential fill`; the helper is told whether its password worked. */
function credentials(url: string) {
  let source: 'GITSTATE_TOKEN' | 'credential helper' | 'none' | null = null;
  let filled: { username: string; password: string } | null = null;
  let offered = false;
  const onAuth: AuthCallback = async () => {
    const token = process.env.GITSTATE_TOKEN;
    if (token) {
      source = 'GITSTATE_TOKEN';
      offered = true;
      return { username: process.env.GITSTATE_USERNAME || 'gitstate', password: token };
    }
    filled = await credentialHelper('fill', url);
    if (!filled) return { cancel: true };
    source = 'credential helper';
    offered = true;
    return filled;
  };
  return {
    onAuth,
    onFailure: async () => {
      if (source === 'credential helper' && filled) await credentialHelper('reject', url, filled);
      return { cancel: true };
    },
    onSuccess: async () => {
      if (source === 'credential helper' && filled) await credentialHelper('approve', url, filled);
    },
    source: () => source,
    offered: () => offered,
  };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
  if (e.code === 'HttpError' && e.data?.statusCode) return `HTTP ${e.data.statusCode} ${e.data.statusMessage ?? ''}`.trim();
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  return (e.message ?? String(err)).split('\n')[0]!;
}
