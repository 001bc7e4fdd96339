/**
 * Fetch and push over smart HTTP(S) through isomorphic-git: the transport when
 * the system git is not installed (git/native.ts carries the transfer when it
 * is). sync/transport.ts decides what to do with the outcome; this module only
 * carries the call. isomorphic-git's errors pass through with their `code`
 * and `data`.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';
import type { AuthCallback, AuthFailureCallback, AuthSuccessCallback, HttpClient } from 'isomorphic-git';
import { iso } from './iso.js';
import type { GitStore } from './store.js';

const require = createRequire(import.meta.url);

export interface ProgressEvent {
  phase: string;
  loaded: number;
  total?: number;
}

export interface HttpTransfer {
  url: string;
  remote: string;
  /** The local branch. */
  branch: string;
  /** The remote's branch it tracks. */
  remoteBranch: string;
  signal: AbortSignal;
  onAuth: AuthCallback;
  onAuthFailure?: AuthFailureCallback;
  onAuthSuccess?: AuthSuccessCallback;
  onProgress?: (event: ProgressEvent) => void;
  /** The server's own text (sideband `remote:` lines). */
  onMessage?: (message: string) => void;
  /** A CA bundle to trust (git's http.sslCAInfo), as a path. */
  caFile?: string;
}

export type { AuthCallback, AuthFailureCallback, AuthSuccessCallback };

export interface PushOutcome {
  ok: boolean;
  error?: string | null;
  refs: Record<string, { ok: boolean; error?: string }>;
}

/** Fetch the remote's branch into refs/remotes/<remote>/<remoteBranch>. */
export async function httpFetch(store: GitStore, transfer: HttpTransfer): Promise<void> {
  // isomorphic-git tells the server it has the commit `ref` names, and no other. The remote-tracking
  // ref names one the server knows; the local branch, once it holds a commit of its own, names one
  // the server does not, which then sends the whole repository again.
  // Before the first fetch there is no tracking ref: the local branch then (a repo pushed before).
  const tracking = `refs/remotes/${transfer.remote}/${transfer.remoteBranch}`;
  const have = (await store.resolveRef(tracking)) ? tracking : transfer.branch;
  await iso().fetch({ ...options(store, transfer), ref: have, remoteRef: transfer.remoteBranch, singleBranch: true, tags: false });
}

/** Push the local branch to the remote's; never forced. */
export async function httpPush(store: GitStore, transfer: HttpTransfer): Promise<PushOutcome> {
  const result = await iso().push({ ...options(store, transfer), ref: transfer.branch, remoteRef: transfer.remoteBranch, force: false });
  return { ok: result.ok, error: result.error, refs: result.refs as PushOutcome['refs'] };
}

/** The remote's branches, and the branch its HEAD names (what `git clone` would check out). */
export async function httpListBranches(transfer: HttpTransfer): Promise<{ branches: string[]; head?: string }> {
  const refs = await iso().listServerRefs({ http: timedHttp(transfer), url: transfer.url, symrefs: true, onAuth: transfer.onAuth, onAuthFailure: transfer.onAuthFailure });
  const head = refs.find((r) => r.ref === 'HEAD')?.target?.replace(/^refs\/heads\//, '');
  const branches = refs.filter((r) => r.ref.startsWith('refs/heads/')).map((r) => r.ref.slice('refs/heads/'.length));
  return head ? { branches, head } : { branches };
}

function options(store: GitStore, t: HttpTransfer) {
  return {
    ...store.transportArgs(),
    http: timedHttp(t),
    url: t.url,
    remote: t.remote,
    onAuth: t.onAuth,
    onAuthFailure: t.onAuthFailure,
    onAuthSuccess: t.onAuthSuccess,
    onProgress: t.onProgress,
    onMessage: t.onMessage,
  };
}

let client: { request: HttpClient['request'] } | null = null;
/** isomorphic-git's Node client, with the deadline's signal and, when one is configured, the CA bundle to trust. */
function timedHttp(t: HttpTransfer): HttpClient {
  client ??= (require('isomorphic-git/http/node') as { default: HttpClient }).default;
  const base = client;
  const agent = t.caFile && /^https:/i.test(t.url) ? new Agent({ ca: readFileSync(t.caFile) }) : undefined;
  return { request: (request) => base.request({ ...request, signal: t.signal, ...(agent ? { agent } : {}) } as never) };
}
