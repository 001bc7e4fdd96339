/**
 * State files as MCP resources. Every state file is `gitstate://state/<path>`
 * (its text); `gitstate://state/<path>?key=<key path>` is the value at a key
 * path (JSON). resources/subscribe sends notifications/resources/updated when
 * what a URI names changes, whoever changed it (this process, another one, a
 * pull, a hand edit): a watcher on the work tree and the branch ref says when to
 * look, and a URI is notified only when its content really differs from what
 * its subscriber last saw. A file appearing or going is a list_changed.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { messageOf, NotFoundError } from '../errors.js';
import { isJsonPath, normalizeStatePath } from '../base/paths.js';
import type { StateRepo } from '../core/repo.js';
import { RepoWatcher } from './watch.js';

export const URI_PREFIX = 'gitstate://state/';
/** MCP's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

export interface StateUri {
  path: string;
  key?: string;
}

/** The URI of a state file (or a key path in it). */
export function stateUri(path: string, key?: string): string {
  const base = URI_PREFIX + path.split('/').map(encodeURIComponent).join('/');
  return key ? `${base}?key=${encodeURIComponent(key)}` : base;
}

/** A state URI's file and key path; an McpError (invalid params) for anything else. */
export function parseStateUri(uri: string): StateUri {
  if (!uri.startsWith(URI_PREFIX)) throw new McpError(ErrorCode.InvalidParams, `not a gitstate state URI: ${uri} (expected ${URI_PREFIX}<file>[?key=<key path>])`);
  const rest = uri.slice(URI_PREFIX.length);
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  let key: string | undefined;
  try {
    const path = normalizeStatePath(rawPath.split('/').map(decodeURIComponent).join('/'));
    for (const pair of q < 0 ? [] : rest.slice(q + 1).split('&')) {
      // at the first "=" only: a key path's selector has one of its own (list[key=AAP-1])
      const eq = pair.indexOf('=');
      const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      if (name === 'key' && value) key = decodeURIComponent(value);
      else if (name) throw new Error(`unknown parameter "${name}" (only key=<key path>)`);
    }
    return key ? { path, key } : { path };
  } catch (err) {
    throw new McpError(ErrorCode.InvalidParams, `${uri}: ${messageOf(err)}`);
  }
}

interface Subscription {
  target: StateUri;
  /** What the subscriber last saw: the file's text or the value's JSON (null: absent). */
  seen: string | null;
}

export class StateResources {
  private readonly subscriptions = new Map<string, Subscription>();
  private watcher: RepoWatcher | null = null;
  private files: string | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private listMayChange = false;

  constructor(
    private readonly server: McpServer,
    private readonly repo: StateRepo,
  ) {}

  /** Declare the capability and answer the resource requests (call before connecting). */
  register(): void {
    const s = this.server.server;
    s.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
    s.setRequestHandler(ListResourcesRequestSchema, async () => ({
      resources: (await this.repo.list()).map((path) => ({ uri: stateUri(path), name: path, mimeType: mimeOf(path) })),
    }));
    s.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: [
        { uriTemplate: `${URI_PREFIX}{+path}`, name: 'state-file', description: 'A state file, as text (YAML or JSON), comments included.', mimeType: 'application/yaml' },
        { uriTemplate: `${URI_PREFIX}{+path}{?key}`, name: 'state-value', description: 'The value at a key path in a state file, as JSON (key: a.b, list[0], list[key=AAP-1].status).', mimeType: 'application/json' },
      ],
    }));
    s.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      const target = parseStateUri(request.params.uri);
      const text = await this.read(target);
      if (text === null) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${request.params.uri} (${target.path}${target.key ? ` has no value at ${target.key}` : ' does not exist'})`);
      return { contents: [{ uri: request.params.uri, mimeType: target.key ? 'application/json' : mimeOf(target.path), text }] };
    });
    s.setRequestHandler(SubscribeRequestSchema, async (request) => {
      const target = parseStateUri(request.params.uri);
      this.subscriptions.set(request.params.uri, { target, seen: await this.fingerprint(target) });
      this.startWatching();
      return {};
    });
    s.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      this.subscriptions.delete(request.params.uri);
      return {};
    });
  }

  /** Start watching the repository (the server does once connected; a subscription does too). */
  startWatching(): void {
    if (this.watcher) return;
    this.watcher = new RepoWatcher(this.repo.dir, (change) => {
      if (change.renamed || change.kind === 'ref') this.listMayChange = true;
      this.schedule();
    });
    this.watcher.start();
    void this.repo.list().then((files) => (this.files ??= files.join('\n')), () => undefined);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Look once the events of one write have arrived; while a look runs, ask for one more after it. */
  private schedule(): void {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.check())
      .catch(() => undefined)
      .finally(() => {
        this.checking = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  private async check(): Promise<void> {
    if (this.listMayChange) {
      this.listMayChange = false;
      const files = (await this.repo.list()).join('\n');
      if (this.files !== null && files !== this.files) await this.server.server.sendResourceListChanged().catch(() => undefined);
      this.files = files;
    }
    for (const [uri, sub] of this.subscriptions) {
      const now = await this.fingerprint(sub.target);
      if (now === sub.seen) continue;
      sub.seen = now;
      await this.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  }

  /** What a subscriber would read now; a file that cannot be read (say, broken YAML) is a change too. */
  private fingerprint(target: StateUri): Promise<string | null> {
    return this.read(target).catch((err: unknown) => `\0unreadable: ${messageOf(err)}`);
  }

  /** The text a URI stands for now, or null when the file (or the key) is not there. */
  private async read(target: StateUri): Promise<string | null> {
    try {
      if (!target.key) return await this.repo.readText(target.path);
      const value = await this.repo.get(target.path, target.key);
      return JSON.stringify(value ?? null, null, 2);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
}

function mimeOf(path: string): string {
  return isJsonPath(path) ? 'application/json' : 'application/yaml';
}
