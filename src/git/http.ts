/**
 * Fetch and push over smart HTTP(S), through isomorphic-git. sync/transport.ts
 * decides what to do with the outcome; this module only carries the call.
 * isomorphic-git's errors pass through with their `code` and `data`.
 */
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
  /** Local and remote branch name. */
  branch: string;
  signal: AbortSignal;
  onAuth: AuthCallback;
  onAuthFailure?: AuthFailureCallback;
  onAuthSuccess?: AuthSuccessCallback;
  onProgress?: (event: ProgressEvent) => void;
}

export type { AuthCallback, AuthFailureCallback, AuthSuccessCallback };

export interface PushOutcome {
  ok: boolean;
  error?: string | null;
  refs: Record<string, { ok: boolean; error?: string }>;
}

/** Fetch the remote's branch into refs/remotes/<remote>/<branch>. */
export async function httpFetch(store: GitStore, transfer: HttpTransfer): Promise<void> {
  await iso().fetch({ ...options(store, transfer), singleBranch: true, tags: false });
}

/** Push the branch; never forced. */
export async function httpPush(store: GitStore, transfer: HttpTransfer): Promise<PushOutcome> {
  const result = await iso().push({ ...options(store, transfer), force: false });
  return { ok: result.ok, error: result.error, refs: result.refs as PushOutcome['refs'] };
}

function options(store: GitStore, t: HttpTransfer) {
  return {
    ...store.transportArgs(),
    http: timedHttp(t.signal),
    url: t.url,
    remote: t.remote,
    ref: t.branch,
    remoteRef: t.branch,
    onAuth: t.onAuth,
    onAuthFailure: t.onAuthFailure,
    onAuthSuccess: t.onAuthSuccess,
    onProgress: t.onProgress,
  };
}

let client: { request: HttpClient['request'] } | null = null;
function timedHttp(signal: AbortSignal): HttpClient {
  client ??= (require('isomorphic-git/http/node') as { default: HttpClient }).default;
  const base = client;
  return { request: (request) => base.request({ ...request, signal } as never) };
}
