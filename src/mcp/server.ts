/**
 * `gitstate mcp`: the memory tools over MCP (stdio), a thin shell over the
 * library. The seed's tool and argument names are kept so existing prompts and
 * skills work; errors come back as MCP tool errors with the CLI's one-line
 * messages, and every write returns its commit id.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import * as z from 'zod';
import type { StateRepo } from '../core/repo.js';
import { messageOf } from '../errors.js';
import { History } from '../history/history.js';
import { StateManager } from '../state/manager.js';
import { parseValueText } from '../yaml/document.js';
import { buildContext, renderContext } from '../context/context.js';

type Result = { content: Array<{ type: 'text'; text: string }>; isError?: boolean };

/** Run a tool body: its value as text (JSON for objects), or its error as an MCP tool error. */
async function tool(fn: () => Promise<unknown>): Promise<Result> {
  try {
    const value = await fn();
    return { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }] };
  } catch (err) {
    return { content: [{ type: 'text', text: messageOf(err) }], isError: true };
  }
}

/** Values arrive as JSON or YAML text (or already structured); parsed like the CLI parses VALUE. */
const value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);
function parsed(input: unknown): unknown {
  return typeof input === 'string' ? parseValueText(input, 'value') : input;
}

export function createMcpServer(repo: StateRepo, state: StateManager): McpServer {
  const server = new McpServer({ name: 'gitstate', version: '0.1.0' });
  const history = new History(repo);
  const write = (r: { commit: string; changed: boolean }) => ({ commit: r.commit, changed: r.changed });

  server.registerTool('memory_read', { description: 'Read a state file (YAML text); an empty key lists the files.', inputSchema: { key: z.string().default('') } }, ({ key }) =>
    tool(async () => (key ? repo.readText(key) : (await repo.list()).join('\n'))),
  );
  server.registerTool('memory_write', { description: 'Replace a state file with YAML content (kept as given, comments included).', inputSchema: { key: z.string(), content: z.string() } }, ({ key, content }) =>
    tool(async () => write(await repo.write(key, content))),
  );
  server.registerTool('memory_update', { description: 'Set the value at a key path (missing levels are created; the value is parsed as YAML).', inputSchema: { key: z.string(), path: z.string(), value } }, (a) =>
    tool(async () => write(await repo.set(a.key, a.path, parsed(a.value)))),
  );
  server.registerTool('memory_append', { description: 'Append an item to the list at a key path (a missing list is created).', inputSchema: { key: z.string(), list_path: z.string(), item: value } }, (a) =>
    tool(async () => write(await repo.append(a.key, a.list_path, parsed(a.item)))),
  );
  server.registerTool('memory_delete', { description: 'Delete the value at a key path, or the file when no path is given.', inputSchema: { key: z.string(), path: z.string().optional() } }, (a) =>
    tool(async () => write(await repo.delete(a.key, a.path || undefined))),
  );
  server.registerTool('memory_session_log', { description: "Append {time, action, details} to today's session log sessions/YYYY-MM-DD.yaml.", inputSchema: { action: z.string(), details: z.string().default('') } }, (a) =>
    tool(async () => {
      const now = new Date();
      const date = now.toISOString().slice(0, 10);
      const file = `sessions/${date}`;
      return write(
        await repo.transaction(async (tx) => {
          const existing = (await tx.get(file).catch(() => ({}))) as Record<string, unknown> | null;
          if (!existing?.date) await tx.set(file, 'date', date);
          await tx.append(file, 'entries', { time: now.toTimeString().slice(0, 8), action: a.action, details: a.details });
        }, { subject: `session log ${date}: ${a.action}`.slice(0, 72) }),
      );
    }),
  );
  server.registerTool('memory_log', { description: 'History of the repo, a file, or the value at a key path (old and new values).', inputSchema: { key: z.string().optional(), path: z.string().optional(), limit: z.number().int().positive().default(20) } }, (a) =>
    tool(async () => history.log({ file: a.key || undefined, key: a.path || undefined, limit: a.limit })),
  );
  server.registerTool('memory_diff', { description: 'Key-level changes between two revisions (default: the last commit), for all files or one.', inputSchema: { key: z.string().optional(), from: z.string().optional(), to: z.string().optional() } }, (a) =>
    tool(async () => (await history.diff(a.from, a.to, { file: a.key || undefined, structural: true })).map((d) => ({ path: d.path, changes: d.changes ?? d.patch }))),
  );
  server.registerTool('memory_rollback', { description: 'Make a file as it was at a revision the new content (a new commit).', inputSchema: { key: z.string(), rev: z.string() } }, (a) =>
    tool(async () => write(await history.rollback(a.key, a.rev))),
  );
  server.registerTool('memory_undo', { description: 'Revert the last commit (a new commit).', inputSchema: {} }, () => tool(async () => write(await history.undo())));
  server.registerTool('state_get', { description: 'Read runtime state (state.json) at a key path, or all of it.', inputSchema: { key: z.string().optional() } }, (a) =>
    tool(async () => state.get(a.key || undefined) ?? null),
  );
  server.registerTool('state_set', { description: 'Set runtime state (state.json); written and committed debounced, and when the server stops.', inputSchema: { key: z.string(), value } }, (a) =>
    tool(async () => {
      state.set(a.key, parsed(a.value));
      return { pending: state.pendingCount };
    }),
  );
  server.registerTool('memory_sync', { description: 'Sync with the configured remote (fetch, merge, push).', inputSchema: { strategy: z.enum(['newest', 'ours', 'theirs', 'manual']).optional() } }, (a) =>
    tool(async () => {
      const { sync } = await import('../sync/sync.js');
      return sync(repo, { strategy: a.strategy });
    }),
  );
  server.registerTool('session_context', { description: 'A compact Markdown summary of the current state for this session.', inputSchema: { project: z.string().optional(), since_last_session: z.boolean().default(false), max_lines: z.number().int().min(5).default(80) } }, (a) =>
    tool(async () => renderContext(await buildContext(repo, { project: a.project, sinceLastSession: a.since_last_session }), a.max_lines)),
  );
  return server;
}

/** Serve over stdio until the client goes away; pending state.json changes are flushed before exit. */
export async function serveStdio(repo: StateRepo): Promise<void> {
  const state = await StateManager.open(repo.dir, { watch: true });
  const server = createMcpServer(repo, state);
  const transport = new StdioServerTransport();
  await new Promise<void>((resolve, reject) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
    server.connect(transport).catch(reject);
  });
  await state.close();
  await server.close().catch(() => undefined);
}
