/**
 * `gitstate mcp`: the memory tools over MCP (stdio), a thin shell over the
 * library. The seed's tool and argument names are kept so existing prompts and
 * skills work; errors come back as MCP tool errors with the CLI's one-line
 * messages, and every write returns its commit id. State files are also
 * resources (resources.ts), live: a subscriber hears of every change.
 *
 * Tools that take a file (`key`) route it: with a current project (the
 * `project` argument, else GITSTATE_PROJECT, else current_project in
 * state.json), `current_work` means projects/<project>/current_work.yaml;
 * `root: true` reaches the root file.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from '../base/zod.js';
import type { Clock } from '../base/clock.js';
import type { StateRepo } from '../core/repo.js';
import { GitstateError, messageOf } from '../errors.js';
import { redactText } from '../security/redact.js';
import { History } from '../history/history.js';
import { routeFile } from '../projects/routing.js';
import { queryFile } from '../query/query.js';
import { parseValueText } from '../yaml/document.js';
import { buildContext, renderContext } from '../context/context.js';
import { appendSessionLog } from '../context/session-log.js';
import { StateResources } from './resources.js';
import { StateHandle } from './state-handle.js';
import type { StateManager } from '../state/manager.js';
import { LineTransport } from './stdio.js';

type Result = { content: Array<{ type: 'text'; text: string }>; isError?: boolean; structuredContent?: Record<string, unknown> };

/**
 * Run a tool body: its value as text (JSON for objects), or its error as an MCP
 * tool error: the CLI's one line as text (redacted once more), and its code
 * (the CLI's --json codes: NOT_FOUND, PATH, SECRET…) in `structuredContent`,
 * for a client that branches on it.
 */
async function tool(fn: () => Promise<unknown>): Promise<Result> {
  try {
    const value = await fn();
    return { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }] };
  } catch (err) {
    const message = redactText(messageOf(err));
    const code = err instanceof GitstateError ? err.code : 'RUNTIME';
    return { content: [{ type: 'text', text: message }], isError: true, structuredContent: { error: { code, message } } };
  }
}

/** Values arrive as JSON or YAML text (or already structured); parsed like the CLI parses VALUE. */
const value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);
function parsed(input: unknown): unknown {
  return typeof input === 'string' ? parseValueText(input, 'value') : input;
}

/** The routing arguments every file tool takes. */
const routing = {
  project: z.string().optional().describe('project whose current_work "current_work" means (default: GITSTATE_PROJECT, else current_project in state.json)'),
  root: z.boolean().optional().describe('true: the root file, whatever project is current'),
};

export interface McpOptions {
  /** The clock session-log entries are dated by (default: the system clock). */
  clock?: Pick<Clock, 'now'>;
  /** Called after each tool call that made a commit (serveStdio: auto-sync, as after a CLI write). */
  onWrite?: () => void;
}

/** Every tool the server offers, in the order tools/list gives them. */
export const TOOL_NAMES = [
  'memory_read',
  'memory_write',
  'memory_update',
  'memory_append',
  'memory_delete',
  'memory_query',
  'memory_session_log',
  'memory_stats',
  'memory_log',
  'memory_diff',
  'memory_rollback',
  'memory_undo',
  'memory_sync',
  'state_get',
  'state_set',
  'state_delete',
  'session_context',
] as const;

/**
 * The server with every tool and the state resources. `state` is the
 * StateManager the state tools use, or a StateHandle that opens it when first
 * needed. The resources watch the repository from the client's `initialized`
 * until the connection closes.
 */
export function createMcpServer(repo: StateRepo, stateOrHandle: StateManager | StateHandle, options: McpOptions = {}): McpServer {
  const state = stateOrHandle instanceof StateHandle ? stateOrHandle : StateHandle.of(stateOrHandle);
  const server = new McpServer({ name: 'gitstate', version: '0.1.0' });
  const history = new History(repo);
  const write = (r: { commit: string; changed: boolean }) => {
    if (r.changed) options.onWrite?.();
    return { commit: r.commit, changed: r.changed };
  };
  const file = (a: { key: string; project?: string; root?: boolean }) =>
    routeFile(repo.dir, a.key, { project: a.project, root: a.root, currentProject: () => state.currentProject() });

  server.registerTool('memory_read', { description: 'Read a state file (YAML text); an empty key lists the files.', inputSchema: { key: z.string().default(''), ...routing } }, (a) =>
    tool(async () => (a.key ? repo.readText(file(a)) : (await repo.list()).join('\n'))),
  );
  server.registerTool('memory_write', { description: 'Replace a state file with YAML content (kept as given, comments included).', inputSchema: { key: z.string(), content: z.string(), ...routing } }, (a) =>
    tool(async () => write(await repo.write(file(a), a.content))),
  );
  server.registerTool('memory_update', { description: 'Set the value at a key path (missing levels are created; the value is parsed as YAML).', inputSchema: { key: z.string(), path: z.string(), value, ...routing } }, (a) =>
    tool(async () => write(await repo.set(file(a), a.path, parsed(a.value)))),
  );
  server.registerTool('memory_append', { description: 'Append an item to the list at a key path (a missing list is created).', inputSchema: { key: z.string(), list_path: z.string(), item: value, ...routing } }, (a) =>
    tool(async () => write(await repo.append(file(a), a.list_path, parsed(a.item)))),
  );
  server.registerTool('memory_delete', { description: 'Delete the value at a key path, or the file when no path is given.', inputSchema: { key: z.string(), path: z.string().optional(), ...routing } }, (a) =>
    tool(async () => write(await repo.delete(file(a), a.path || undefined))),
  );
  server.registerTool(
    'memory_query',
    {
      description: 'JSONPath (RFC 9535) over a state file, e.g. $.active_issues[?@.status=="Open"].key. Returns the matching values as JSON; with_paths: true gives {path, key, value} per match.',
      inputSchema: { key: z.string(), query: z.string(), with_paths: z.boolean().default(false), ...routing },
    },
    (a) =>
      tool(async () => {
        const matches = await queryFile(repo, file(a), a.query);
        return a.with_paths ? matches : matches.map((m) => m.value);
      }),
  );
  server.registerTool(
    'memory_session_log',
    { description: "Append {time, action, details} to today's session log sessions/YYYY-MM-DD.yaml (local date and time).", inputSchema: { action: z.string(), details: z.string().default('') } },
    (a) =>
      tool(async () => {
        const r = await appendSessionLog(repo, { action: a.action, details: a.details }, options.clock);
        return { commit: r.commit, changed: r.changed, file: r.file, entry: r.entry };
      }),
  );
  server.registerTool(
    'memory_stats',
    { description: 'Storage per folder, commits (total, 24 h, 7 days), session logs, newest writes, last sync, pending conflicts, state.json and repo health. fsck: true also runs a full git fsck.', inputSchema: { fsck: z.boolean().default(false) } },
    (a) =>
      tool(async () => {
        const { repoStats } = await import('../status/stats.js');
        return repoStats(repo, { fsck: a.fsck });
      }),
  );
  server.registerTool('memory_log', { description: 'History of the repo, a file, or the value at a key path (old and new values).', inputSchema: { key: z.string().optional(), path: z.string().optional(), limit: z.number().int().positive().default(20), ...routing } }, (a) =>
    tool(async () => history.log({ file: a.key ? file({ ...a, key: a.key }) : undefined, key: a.path || undefined, limit: a.limit })),
  );
  server.registerTool('memory_diff', { description: 'Key-level changes between two revisions (default: the last commit), for all files or one.', inputSchema: { key: z.string().optional(), from: z.string().optional(), to: z.string().optional(), ...routing } }, (a) =>
    tool(async () => (await history.diff(a.from, a.to, { file: a.key ? file({ ...a, key: a.key }) : undefined, structural: true })).map((d) => ({ path: d.path, changes: d.changes ?? d.patch }))),
  );
  server.registerTool('memory_rollback', { description: 'Make a file as it was at a revision the new content (a new commit).', inputSchema: { key: z.string(), rev: z.string(), ...routing } }, (a) =>
    tool(async () => write(await history.rollback(file(a), a.rev))),
  );
  server.registerTool('memory_undo', { description: 'Revert the last commit (a new commit).', inputSchema: {} }, () => tool(async () => write(await history.undo())));
  server.registerTool('memory_sync', { description: 'Sync with the configured remote (fetch, merge, push).', inputSchema: { strategy: z.enum(['newest', 'ours', 'theirs', 'manual']).optional() } }, (a) =>
    tool(async () => {
      const { sync } = await import('../sync/sync.js');
      return sync(repo, { strategy: a.strategy });
    }),
  );
  server.registerTool('state_get', { description: 'Read runtime state (state.json) at a key path, or all of it.', inputSchema: { key: z.string().optional() } }, (a) =>
    tool(async () => (await state.get()).get(a.key || undefined) ?? null),
  );
  server.registerTool(
    'state_set',
    { description: 'Set runtime state (state.json); checked at once, written and committed debounced and when the server stops. current_project routes current_work.', inputSchema: { key: z.string(), value } },
    (a) =>
      tool(async () => {
        const manager = await state.get();
        manager.set(a.key, parsed(a.value));
        return { pending: manager.pendingCount };
      }),
  );
  server.registerTool('state_delete', { description: 'Remove a key from runtime state (state.json); committed like state_set.', inputSchema: { key: z.string() } }, (a) =>
    tool(async () => {
      const manager = await state.get();
      manager.delete(a.key);
      return { pending: manager.pendingCount };
    }),
  );
  server.registerTool(
    'session_context',
    {
      description: "A compact Markdown summary of the state for this session; the current project's current_work when one is set.",
      inputSchema: { ...routing, since_last_session: z.boolean().default(false), max_lines: z.number().int().min(5).default(80) },
    },
    (a) =>
      tool(async () =>
        renderContext(await buildContext(repo, { project: a.project, root: a.root, sinceLastSession: a.since_last_session, currentProject: () => state.currentProject() }), a.max_lines),
      ),
  );
  const resources = new StateResources(server, repo);
  resources.register();
  server.server.oninitialized = () => resources.startWatching();
  const onclose = server.server.onclose;
  server.server.onclose = () => {
    resources.close();
    onclose?.();
  };
  return server;
}

/**
 * Serve over stdio until the client goes away. A state.json that cannot be
 * used does not stop the server (see StateHandle). On the way out, pending
 * state.json changes are flushed; if that fails they are written aside, the
 * error says where, and the process exits 1.
 */
export async function serveStdio(repo: StateRepo, options: { autoSyncCli?: string } = {}): Promise<void> {
  const state = new StateHandle(repo.dir, { watch: true, flushOnExit: true });
  await state.get().catch((err: unknown) => process.stderr.write(`gitstate mcp: state tools unavailable until state.json is fixed: ${messageOf(err)}\n`));
  const cli = options.autoSyncCli;
  // With auto-sync on, an assistant's writes are synced in the background like the CLI's (best effort: status shows errors).
  const onWrite = cli ? () => void import('../sync/auto.js').then(({ afterWrite }) => afterWrite(repo, cli)).catch(() => undefined) : undefined;
  const server = createMcpServer(repo, state, { onWrite });
  const transport = new LineTransport();
  await new Promise<void>((resolve, reject) => {
    transport.onclose = () => resolve();
    server.connect(transport).catch(reject);
  });
  try {
    await state.close();
  } finally {
    await server.close().catch(() => undefined);
  }
}
