/**
 * The MCP server through the SDK's own client, spawning `gitstate mcp` over
 * stdio: the tools, a state.json that cannot take the tools down, project
 * routing, and state files as live resources.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { TOOL_NAMES } from '../../src/mcp/server.js';
import { localDateTime } from '../../src/context/session-log.js';
import { assertRepoHealthy, cleanupTempDirs, CLI, cli, commitCount, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';
import { useGitServer } from '../helpers/server.js';

afterAll(cleanupTempDirs);
const gitServer = useGitServer();

async function connect(dir: string, env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'gitstate-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [CLI, '--dir', dir, 'mcp'], env: { ...process.env, GITSTATE_DIR: '', ...env } as Record<string, string>, stderr: 'pipe' }),
  );
  return client;
}

type CallResult = { content: Array<{ type: string; text: string }>; isError?: boolean };
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const r = (await client.callTool({ name, arguments: args })) as CallResult;
  return { text: r.content.map((c) => c.text).join(''), isError: Boolean(r.isError) };
}

/** Resolves with the URI of the next resources/updated notification for `uri` (the event itself, no polling). */
function updates(client: Client): { next(uri: string): Promise<number> } {
  const waiting = new Map<string, Array<(at: number) => void>>();
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    for (const resolve of waiting.get(n.params.uri)?.splice(0) ?? []) resolve(performance.now());
  });
  return { next: (uri) => new Promise((resolve) => waiting.set(uri, [...(waiting.get(uri) ?? []), resolve])) };
}

describe('gitstate mcp (SDK client)', () => {
  it('lists every tool', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    for (const t of tools) expect(t.description, t.name).toBeTruthy();
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
    expect(JSON.parse((await call(client, 'memory_query', { key: 'current_work', query: '$.active_issues[?@.status=="Done"].key' })).text)).toEqual(['AAP-2']);
    const log1 = JSON.parse((await call(client, 'memory_session_log', { action: 'started', details: 'test' })).text);
    expect(await repo.get(log1.file)).toMatchObject({ date: log1.file.slice(9, 19), entries: [{ action: 'started', details: 'test', time: expect.stringMatching(/^\d\d:\d\d:\d\d$/) }] });
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
    const stats = JSON.parse((await call(client, 'memory_stats')).text);
    expect(stats.commits.total).toBe(commitCount(repo.dir));
    expect(commitCount(repo.dir)).toBe(before + 9); // write, 2 updates, 2 appends, session log, delete, undo, rollback

    // Bad input: a tool error with the CLI's one-line message, and nothing written.
    const head = headOid(repo.dir);
    for (const [name, args, message] of [
      ['memory_update', { key: '../escape', path: 'a', value: '1' }, /contains "\.\."/],
      ['memory_write', { key: 'notes/x', content: 'a: [\n' }, /invalid YAML in notes\/x\.yaml/],
      ['memory_append', { key: 'learned/patterns', list_path: 'retry', item: 'x' }, /not a list/],
      ['memory_update', { key: 'knowledge', path: 'db.password', value: 'hunter2' }, /looks like a secret/],
      ['memory_query', { key: 'current_work', query: '$.active_issues[?@.status==' }, /invalid JSONPath .* at position \d+/],
      ['memory_sync', {}, /no remote named "origin"/],
      ['state_set', { key: 'sessions', value: 'x' }, /state\.json: sessions: expected record/],
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
    await call(client, 'state_set', { key: 'scratch', value: '1' });
    await call(client, 'state_delete', { key: 'scratch' });
    expect(JSON.parse((await call(client, 'state_get', { key: 'sessions.s1' })).text)).toEqual({ persona: 'developer' });
    const transport = client.transport as StdioClientTransport;
    const pid = transport.pid!;
    await client.close();
    // The server exits once it has flushed: wait for that process to be gone.
    await new Promise<void>((resolve) => {
      const check = () => {
        try {
          process.kill(pid, 0);
          setTimeout(check, 20);
        } catch {
          resolve();
        }
      };
      check();
    });
    expect(JSON.parse(await readFile(join(repo.dir, 'state.json'), 'utf8'))).toEqual({ sessions: { s1: { persona: 'developer' } }, tools: ['git', 'jira'] });
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('flush');
  });
});

describe('a bad state.json never takes the memory tools down', () => {
  for (const [what, content] of [
    ['not JSON', '{broken'],
    ['off its schema', '{"tools": "git"}'],
  ] as const) {
    it(`state.json ${what}: the server starts, YAML tools work, state tools name the file and the fix, and recover after a reset`, async () => {
      const repo = await tempRepo();
      await writeFile(join(repo.dir, 'state.json'), content);
      const client = await connect(repo.dir);
      const w = await call(client, 'memory_update', { key: 'knowledge', path: 'fact', value: 'still works' });
      expect(w.isError).toBe(false);
      expect(git(repo.dir, 'show', 'HEAD:knowledge.yaml')).toContain('fact: still works');
      expect((await call(client, 'memory_read', { key: 'knowledge' })).isError).toBe(false);
      for (const [name, args] of [
        ['state_get', {}],
        ['state_set', { key: 'persona', value: 'dev' }],
      ] as const) {
        const r = await call(client, name, args);
        expect(r.isError, name).toBe(true);
        expect(r.text).toMatch(/state\.json/);
        expect(r.text).toMatch(/gitstate state reset/);
      }
      // Fixed from another shell: the state tools work again, no restart.
      expect((await cli(['state', 'reset'], { dir: repo.dir })).code).toBe(0);
      expect((await call(client, 'state_set', { key: 'persona', value: 'dev' })).isError).toBe(false);
      expect((await call(client, 'state_get', { key: 'persona' })).text).toBe('dev');
      await client.close();
    });
  }
});

describe('project routing over MCP', () => {
  it('current_work means the project file with a project argument, GITSTATE_PROJECT or current_project; root: true reaches the root file', async () => {
    const repo = await tempRepo();
    await repo.set('projects/backend/current_work', 'branch', 'feature/x');
    await repo.set('projects/frontend/current_work', 'branch', 'main');
    const client = await connect(repo.dir);
    // No project: the root file.
    await call(client, 'memory_append', { key: 'current_work', list_path: 'active_issues', item: { key: 'ROOT-1' } });
    // current_project in state.json (this server's own state, not yet flushed).
    await call(client, 'state_set', { key: 'current_project', value: 'backend' });
    await call(client, 'memory_append', { key: 'state/current_work', list_path: 'active_issues', item: { key: 'BE-1', status: 'Open' } });
    expect(git(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('append projects/backend/current_work.yaml active_issues');
    // The project argument wins over current_project.
    await call(client, 'memory_update', { key: 'current_work', path: 'test_status', value: 'passed', project: 'frontend' });
    // root: true reaches the root file.
    expect(JSON.parse((await call(client, 'memory_query', { key: 'current_work', query: '$.active_issues[*].key', root: true })).text)).toEqual(['ROOT-1']);
    expect(JSON.parse((await call(client, 'memory_query', { key: 'current_work', query: '$.active_issues[*].key' })).text)).toEqual(['BE-1']);
    // A routed append is checked by the project schema like any current_work.
    const bad = await call(client, 'memory_append', { key: 'current_work', list_path: 'active_issues', item: { summary: 'no key' } });
    expect(bad).toMatchObject({ isError: true, text: expect.stringMatching(/projects\/backend\/current_work\.yaml: active_issues\[1\]\.key/) });
    // A project without a folder is NOT_FOUND, never a new file.
    const missing = await call(client, 'memory_read', { key: 'current_work', project: 'nope' });
    expect(missing).toMatchObject({ isError: true, text: expect.stringMatching(/project "nope" does not exist/) });
    // session_context shows the project's file.
    const context = (await call(client, 'session_context', {})).text;
    expect(context).toContain('## Current work: project backend (projects/backend/current_work.yaml)');
    expect(context).toContain('- BE-1 [Open]');
    expect(context).not.toContain('ROOT-1');
    expect(context).toContain('## Project backend (from current_project in state.json)\n- branch feature/x;');
    expect(git(repo.dir, 'show', 'HEAD:projects/frontend/current_work.yaml')).toContain('test_status: passed');
    expect(git(repo.dir, 'show', 'HEAD:current_work.yaml')).toContain('ROOT-1');
    await client.close();

    // GITSTATE_PROJECT wins over current_project.
    const envClient = await connect(repo.dir, { GITSTATE_PROJECT: 'frontend' });
    expect((await call(envClient, 'memory_read', { key: 'current_work' })).text).toContain('test_status: passed');
    await envClient.close();
    assertRepoHealthy(repo.dir);
  });
});

describe('state files as resources', () => {
  it('resources/list, templates and read: files as text, key paths as JSON', async () => {
    const repo = await tempRepo();
    await repo.append('current_work', 'active_issues', { key: 'AAP-1', status: 'Open' });
    await repo.set('projects/backend/current_work', 'branch', 'main');
    const client = await connect(repo.dir);
    expect(client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['gitstate://state/current_work.yaml', 'gitstate://state/projects/backend/current_work.yaml']));
    expect(resources.map((r) => r.uri).sort()).toEqual((await repo.list()).map((p) => `gitstate://state/${p}`).sort());
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['gitstate://state/{+path}', 'gitstate://state/{+path}{?key}']);
    const file = await client.readResource({ uri: 'gitstate://state/current_work.yaml' });
    expect(file.contents[0]).toMatchObject({ mimeType: 'application/yaml', text: await readFile(join(repo.dir, 'current_work.yaml'), 'utf8') });
    const value = await client.readResource({ uri: `gitstate://state/current_work.yaml?key=${encodeURIComponent('active_issues[key=AAP-1].status')}` });
    expect(value.contents[0]).toMatchObject({ mimeType: 'application/json', text: '"Open"' });
    await expect(client.readResource({ uri: 'gitstate://state/nope.yaml' })).rejects.toMatchObject({ code: -32002 });
    await expect(client.readResource({ uri: 'gitstate://state/../x.yaml' })).rejects.toMatchObject({ code: -32602 });
    await expect(client.readResource({ uri: 'file:///etc/passwd' })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it("resources/updated arrives within 1 s of another process's commit, and for this process's writes and hand edits", async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    const events = updates(client);
    const fileUri = 'gitstate://state/current_work.yaml';
    const keyUri = `gitstate://state/current_work.yaml?key=${encodeURIComponent('active_issues')}`;
    const knowledgeUri = 'gitstate://state/knowledge.yaml';
    await client.subscribeResource({ uri: fileUri });
    await client.subscribeResource({ uri: keyUri });
    await client.subscribeResource({ uri: knowledgeUri });

    // Another process commits: the notification must come within 1 s of its commit.
    const fileEvent = events.next(fileUri);
    const keyEvent = events.next(keyUri);
    const writer = spawn(process.execPath, [CLI, '--dir', repo.dir, 'append', 'current_work', 'active_issues', '{key: AAP-9}'], { env: { ...process.env, GITSTATE_DIR: '' } });
    const committed = new Promise<number>((resolve) => writer.stdout.once('data', () => resolve(performance.now())));
    const [notifiedAt, keyAt, commitPrintedAt] = await Promise.all([fileEvent, keyEvent, committed]);
    expect(notifiedAt - commitPrintedAt).toBeLessThan(1000);
    expect(keyAt - commitPrintedAt).toBeLessThan(1000);
    expect(JSON.parse((await client.readResource({ uri: keyUri })).contents[0]!.text as string)).toEqual([{ key: 'AAP-9' }]);

    // This process's own write, through a tool.
    const own = events.next(knowledgeUri);
    await call(client, 'memory_update', { key: 'knowledge', path: 'fact', value: 'one' });
    await own;
    // A hand edit, never committed.
    const hand = events.next(knowledgeUri);
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'fact: edited by hand\n');
    await hand;
    // A change to another key of the file is not a change of the key subscription's value.
    let keyFired = false;
    void events.next(keyUri).then(() => (keyFired = true));
    const fileAgain = events.next(fileUri);
    await repo.set('current_work', 'active_issue', 'AAP-9');
    await fileAgain;
    // Notifications come in order: once a later one is here, an earlier one for the key would have been too.
    const later = events.next(knowledgeUri);
    await repo.set('knowledge', 'fact', 'two');
    await later;
    expect(keyFired).toBe(false);
    await client.close();
  });

  it('a pull that changes a subscribed file notifies too', async () => {
    const url = gitServer().createRepo('resources.git');
    const a = join(await tempDir(), 'state');
    const b = join(await tempDir(), 'state');
    expect((await cli(['init'], { dir: a })).code).toBe(0);
    expect((await cli(['remote', 'add', 'origin', url], { dir: a })).code).toBe(0);
    expect((await cli(['sync'], { dir: a })).code).toBe(0);
    expect((await cli(['clone', url], { dir: b })).code).toBe(0);
    await cli(['set', 'knowledge', 'from_b', 'yes'], { dir: b });
    expect((await cli(['sync'], { dir: b })).code).toBe(0);
    const client = await connect(a);
    const events = updates(client);
    const uri = 'gitstate://state/knowledge.yaml';
    await client.subscribeResource({ uri });
    const pulled = events.next(uri);
    expect((await cli(['pull'], { dir: a })).code).toBe(0);
    await pulled;
    expect((await client.readResource({ uri })).contents[0]!.text).toContain('from_b: yes');
    await client.close();
  });

  it('a file that appears is a resources/list_changed', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    await client.subscribeResource({ uri: 'gitstate://state/knowledge.yaml' }); // starts the watcher
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ResourceListChangedNotificationSchema, () => resolve()));
    await cli(['set', 'learned/patterns', 'retry', 'backoff'], { dir: repo.dir });
    await changed;
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('gitstate://state/learned/patterns.yaml');
    await client.close();
  });
});

describe('session log over MCP', () => {
  it('uses the local date and time of one reading (TZ honoured), leaves out empty details, one-line subject', async () => {
    const repo = await tempRepo();
    // UTC+14: the local date differs from the UTC date for ten hours of every day.
    const client = await connect(repo.dir, { TZ: 'Pacific/Kiritimati' });
    const prevTz = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const before = localDateTime(new Date());
      const r = JSON.parse((await call(client, 'memory_session_log', { action: 'deploy\nto prod\u0007 now' })).text);
      const after = localDateTime(new Date());
      expect([before.date, after.date]).toContain(r.file.slice('sessions/'.length, -'.yaml'.length));
      expect(r.entry.time >= before.time || before.date !== after.date).toBe(true);
      expect(r.entry).toEqual({ time: expect.stringMatching(/^\d\d:\d\d:\d\d$/), action: 'deploy\nto prod\u0007 now' });
      const text = git(repo.dir, 'show', `HEAD:${r.file}`);
      expect(text).not.toContain('details');
      expect(git(repo.dir, 'log', '-1', '--format=%B').split('\n')[0]).toBe(`session log ${r.file.slice(9, 19)}: deploy to prod now`);
    } finally {
      if (prevTz === undefined) delete process.env.TZ;
      else process.env.TZ = prevTz;
    }
    await client.close();
  });
});
