/**
 * The MCP server through a raw JSON-RPC client (test/helpers/jsonrpc-client.ts,
 * no SDK code): every tool once, each checked against the repository with
 * native git, and the protocol errors bad lines get, with the server staying up.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TOOL_NAMES } from '../../src/mcp/server.js';
import { assertRepoHealthy, cleanupTempDirs, CLI, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';
import { RawRpcClient } from '../helpers/jsonrpc-client.js';

afterAll(cleanupTempDirs);

function start(dir: string): RawRpcClient {
  return new RawRpcClient(process.execPath, [CLI, '--dir', dir, 'mcp'], { ...process.env, GITSTATE_DIR: '' });
}

const subject = (dir: string) => git(dir, 'log', '-1', '--format=%s').trim();
const atHead = (dir: string, path: string) => parse(git(dir, 'show', `HEAD:${path}`)) as Record<string, unknown>;

describe('gitstate mcp (raw JSON-RPC client)', () => {
  it('initialize, tools/list, and one tools/call per tool, each checked with native git', async () => {
    const repo = await tempRepo();
    await repo.set('projects/backend/current_work', 'branch', 'main');
    const c = start(repo.dir);
    const init = await c.initialize();
    expect(init.result).toMatchObject({ serverInfo: { name: 'gitstate' }, capabilities: { tools: {}, resources: { subscribe: true, listChanged: true } } });

    const list = await c.request('tools/list', {});
    const tools = list.result!.tools as Array<{ name: string; inputSchema: { type: string } }>;
    expect(tools.map((t) => t.name)).toEqual([...TOOL_NAMES]);
    for (const t of tools) expect(t.inputSchema.type).toBe('object');

    const called = new Set<string>();
    const ok = async (name: string, args: Record<string, unknown> = {}) => {
      called.add(name);
      const r = await c.call(name, args);
      expect(r.isError, `${name}: ${r.text}`).toBe(false);
      return r.text;
    };

    expect((await ok('memory_read', { key: '' })).split('\n')).toEqual(git(repo.dir, 'ls-files', '*.yaml', '*.json').trim().split('\n').sort());
    const w = JSON.parse(await ok('memory_write', { key: 'learned/patterns', content: '# kept\nretry: backoff\n' }));
    expect(w.commit).toBe(headOid(repo.dir));
    expect(git(repo.dir, 'show', 'HEAD:learned/patterns.yaml')).toBe('# kept\nretry: backoff\n');
    await ok('memory_update', { key: 'learned/patterns', path: 'limits.max', value: '5' });
    expect(atHead(repo.dir, 'learned/patterns.yaml').limits).toEqual({ max: 5 });
    expect(subject(repo.dir)).toBe('set learned/patterns.yaml limits.max');
    await ok('memory_append', { key: 'current_work', list_path: 'active_issues', item: '{key: AAP-1, status: Open}' });
    expect(atHead(repo.dir, 'current_work.yaml').active_issues).toEqual([{ key: 'AAP-1', status: 'Open' }]);
    await ok('memory_delete', { key: 'learned/patterns', path: 'limits' });
    expect(atHead(repo.dir, 'learned/patterns.yaml')).toEqual({ retry: 'backoff' });
    const nodes = JSON.parse(await ok('memory_query', { key: 'current_work', query: '$.active_issues[?@.status == "Open"]', with_paths: true }));
    expect(nodes).toEqual([{ path: "$['active_issues'][0]", key: 'active_issues[0]', value: { key: 'AAP-1', status: 'Open' } }]);
    const entry = JSON.parse(await ok('memory_session_log', { action: 'started', details: 'raw client' }));
    expect(atHead(repo.dir, entry.file)).toMatchObject({ entries: [{ action: 'started', details: 'raw client' }] });
    const stats = JSON.parse(await ok('memory_stats', { fsck: true }));
    expect(stats).toMatchObject({ head: headOid(repo.dir), commits: { total: commitCount(repo.dir) }, fsck: { ok: true } });
    const log = JSON.parse(await ok('memory_log', { limit: 3 }));
    expect(log.map((e: { commit: string }) => e.commit)).toEqual(git(repo.dir, 'log', '-3', '--format=%H').trim().split('\n'));
    const diff = JSON.parse(await ok('memory_diff', { from: 'HEAD~1' }));
    expect(diff.map((d: { path: string }) => d.path)).toEqual(git(repo.dir, 'diff', '--name-only', 'HEAD~1', 'HEAD').trim().split('\n'));
    const target = git(repo.dir, 'rev-parse', 'HEAD~3').trim();
    await ok('memory_rollback', { key: 'learned/patterns', rev: target });
    expect(git(repo.dir, 'show', 'HEAD:learned/patterns.yaml')).toBe(git(repo.dir, 'show', `${target}:learned/patterns.yaml`));
    const beforeUndo = git(repo.dir, 'show', 'HEAD~1:learned/patterns.yaml');
    await ok('memory_undo');
    expect(git(repo.dir, 'show', 'HEAD:learned/patterns.yaml')).toBe(beforeUndo);
    expect(subject(repo.dir)).toMatch(/^revert [0-9a-f]{7}: rollback learned\/patterns\.yaml/);
    called.add('memory_sync');
    expect(await c.call('memory_sync', {})).toMatchObject({ isError: true, text: expect.stringMatching(/no remote named "origin"/) });
    await ok('state_set', { key: 'current_project', value: 'backend' });
    await ok('state_set', { key: 'scratch', value: 'x' });
    await ok('state_delete', { key: 'scratch' });
    expect(await ok('state_get', { key: 'current_project' })).toBe('backend');
    expect(await ok('session_context', {})).toContain('## Project backend (from current_project in state.json)');
    expect([...called].sort()).toEqual([...TOOL_NAMES].sort());

    const head = headOid(repo.dir);
    expect(await c.close()).toBe(0);
    // The exit flush committed state.json: one commit on top.
    expect(git(repo.dir, 'rev-list', '--count', `${head}..HEAD`).trim()).toBe('1');
    expect(JSON.parse(git(repo.dir, 'show', 'HEAD:state.json'))).toEqual({ current_project: 'backend' });
    expect(c.garbage).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  it('malformed lines and calls without params get protocol errors, and the server stays up', async () => {
    const repo = await tempRepo();
    const c = start(repo.dir);
    await c.initialize();
    const errorFor = (id: number | null) => c.waitFor((m) => m.error !== undefined && m.id === id);

    c.sendLine('{"jsonrpc": "2.0", "id": 50, "method": "tools/list"'); // cut short
    expect((await errorFor(null)).error).toMatchObject({ code: -32700, message: expect.stringMatching(/^Parse error/) });
    const received = c.received.length;
    c.sendLine('[]');
    c.sendLine('{"jsonrpc": "2.0", "id": 51}');
    c.sendLine('{"jsonrpc": "1.0", "id": 52, "method": "ping"}');
    c.sendLine('{"jsonrpc": "2.0", "id": 53, "method": "tools/call"}');
    c.sendLine('{"jsonrpc": "2.0", "id": 54, "method": "resources/read", "params": {}}');
    c.sendLine('{"jsonrpc": "2.0", "id": 55, "method": "tools/call", "params": {"arguments": {}}}');
    expect((await errorFor(51)).error!.code).toBe(-32600);
    expect((await errorFor(52)).error!.code).toBe(-32600);
    expect((await errorFor(53)).error).toMatchObject({ code: -32602, message: expect.stringMatching(/^Invalid params for tools\/call: params/) });
    expect((await errorFor(54)).error).toMatchObject({ code: -32602, message: expect.stringMatching(/params\.uri/) });
    expect((await errorFor(55)).error).toMatchObject({ code: -32602, message: expect.stringMatching(/params\.name/) });
    expect(c.received.slice(received).some((m) => m.error?.code === -32600 && m.id === null)).toBe(true); // the batch
    expect((await c.request('no/such/method', {})).error!.code).toBe(-32601);
    const unknownTool = await c.request('tools/call', { name: 'memory_nope', arguments: {} });
    expect(Boolean(unknownTool.error) || Boolean(unknownTool.result?.isError)).toBe(true);
    const badArgs = await c.call('memory_update', { key: 'knowledge' }); // path and value missing
    expect(badArgs.isError).toBe(true);

    // Still up: a ping and a real write both work.
    expect((await c.request('ping')).result).toEqual({});
    expect((await c.call('memory_update', { key: 'knowledge', path: 'alive', value: 'yes' })).isError).toBe(false);
    expect(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8')).toContain('alive: "yes"'); // quoted, so YAML 1.1 readers (PyYAML) read a string too
    expect(await c.close()).toBe(0);
    expect(c.garbage).toEqual([]);
  });
});
