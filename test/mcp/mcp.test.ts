/**
 * The MCP server through the SDK's own client, spawning `gitstate mcp` over stdio.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRepoHealthy, cleanupTempDirs, CLI, commitCount, git, headOid, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

async function connect(dir: string): Promise<Client> {
  const client = new Client({ name: 'gitstate-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, '--dir', dir, 'mcp'], env: { ...process.env, GITSTATE_DIR: '' } as Record<string, string>, stderr: 'pipe' }));
  return client;
}

type CallResult = { content: Array<{ type: string; text: string }>; isError?: boolean };
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const r = (await client.callTool({ name, arguments: args })) as CallResult;
  return { text: r.content.map((c) => c.text).join(''), isError: Boolean(r.isError) };
}

describe('gitstate mcp', () => {
  it('lists the tools with the seed names', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(
      ['memory_append', 'memory_delete', 'memory_diff', 'memory_log', 'memory_read', 'memory_rollback', 'memory_session_log', 'memory_sync', 'memory_undo', 'memory_update', 'memory_write', 'session_context', 'state_get', 'state_set'].sort(),
    );
    await client.close();
  });

  it('every tool works, writes are commits that return their id, bad input is a tool error with nothing written', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    const before = commitCount(repo.dir);

    expect((await call(client, 'memory_read', { key: '' })).text).toContain('current_work.yaml');
    const written = JSON.parse((await call(client, 'memory_write', { key: 'learned/patterns', content: '# mine\nretry: backoff\n' })).text);
    expect(written.commit).toBe(headOid(repo.dir));
    expect((await call(client, 'memory_read', { key: 'state/learned/patterns' })).text).toBe('# mine\nretry: backoff\n');
    await call(client, 'memory_update', { key: 'current_work', path: 'active_issue', value: 'AAP-1' });
    await call(client, 'memory_append', { key: 'current_work', list_path: 'active_issues', item: '{key: AAP-1, status: Open}' });
    await call(client, 'memory_append', { key: 'current_work', list_path: 'active_issues', item: { key: 'AAP-2', status: 'Open' } });
    await call(client, 'memory_update', { key: 'current_work', path: 'active_issues[key=AAP-2].status', value: 'Done' });
    expect(await repo.get('current_work', 'active_issues')).toEqual([{ key: 'AAP-1', status: 'Open' }, { key: 'AAP-2', status: 'Done' }]);
    await call(client, 'memory_session_log', { action: 'started', details: 'test' });
    const today = new Date().toISOString().slice(0, 10);
    expect(await repo.get(`sessions/${today}`)).toMatchObject({ date: today, entries: [{ action: 'started', details: 'test', time: expect.stringMatching(/^\d\d:\d\d:\d\d$/) }] });
    const log = JSON.parse((await call(client, 'memory_log', { key: 'current_work', path: 'active_issues[key=AAP-2].status' })).text);
    expect(log.map((e: { after: unknown }) => e.after)).toEqual(['Done', 'Open']);
    const diff = JSON.parse((await call(client, 'memory_diff', {})).text);
    expect(diff[0].path).toMatch(/^sessions\//);
    await call(client, 'memory_delete', { key: 'learned/patterns', path: 'retry' });
    await call(client, 'memory_undo');
    expect(await repo.get('learned/patterns', 'retry')).toBe('backoff');
    await call(client, 'memory_rollback', { key: 'current_work', rev: 'HEAD~8' });
    expect(await repo.get('current_work', 'active_issues')).toEqual([]);
    expect((await call(client, 'session_context', {})).text).toContain('# Session context');
    expect(commitCount(repo.dir)).toBe(before + 9); // write, 2 updates, 2 appends, session log, delete, undo, rollback

    // Bad input: a tool error with the CLI's one-line message, and nothing written.
    const head = headOid(repo.dir);
    for (const [name, args, message] of [
      ['memory_update', { key: '../escape', path: 'a', value: '1' }, /contains "\.\."/],
      ['memory_write', { key: 'notes/x', content: 'a: [\n' }, /invalid YAML in notes\/x\.yaml/],
      ['memory_append', { key: 'learned/patterns', list_path: 'retry', item: 'x' }, /not a list/],
      ['memory_update', { key: 'knowledge', path: 'db.password', value: 'hunter2' }, /looks like a secret/],
      ['memory_sync', {}, /no remote named "origin"/],
    ] as const) {
      const r = await call(client, name, args);
      expect(r.isError, name).toBe(true);
      expect(r.text).toMatch(message);
      expect(r.text.includes('\n')).toBe(false);
    }
    expect(headOid(repo.dir)).toBe(head);
    await client.close();
    assertRepoHealthy(repo.dir);
  });

  it('pending state.json changes are flushed when the client closes the server', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    await call(client, 'state_set', { key: 'sessions.s1.persona', value: 'developer' });
    await call(client, 'state_set', { key: 'tools', value: '[git, jira]' });
    expect(JSON.parse((await call(client, 'state_get', { key: 'sessions.s1' })).text)).toEqual({ persona: 'developer' });
    await client.close();
    for (let i = 0; i < 50; i++) {
      const text = await readFile(join(repo.dir, 'state.json'), 'utf8').catch(() => '');
      if (text.includes('developer')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(JSON.parse(await readFile(join(repo.dir, 'state.json'), 'utf8'))).toEqual({ sessions: { s1: { persona: 'developer' } }, tools: ['git', 'jira'] });
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('flush');
  });
});
