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
import { assertRepoHealthy, cleanupTempDirs, CLI, cli, commitCount, git, gitAsync, headOid, ROOT, tempDir, tempRepo } from '../helpers/repo.js';
import { pull, sync } from '../../src/sync/sync.js';
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

type CallResult = { content: Array<{ type: string; text: string }>; isError?: boolean; structuredContent?: { error?: { code: string; message: string } } };
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean; code?: string }> {
  const r = (await client.callTool({ name, arguments: args })) as CallResult;
  const text = r.content.map((c) => c.text).join('');
  if (r.isError) expect(r.structuredContent?.error?.message).toBe(text);
  return { text, isError: Boolean(r.isError), code: r.structuredContent?.error?.code };
}

/** Resolves once process `pid` is gone (the server exits after its last flush). */
function exited(pid: number): Promise<void> {
  return new Promise((resolve) => {
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
  it('lists every tool; every tool works, writes are commits that return their id, bad input is a tool error with nothing written', async () => {
    const repo = await tempRepo();
    const client = await connect(repo.dir);
    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    for (const t of tools) expect(t.description, t.name).toBeTruthy();
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
    for (const [name, args, message, code] of [
      ['memory_update', { key: '../escape', path: 'a', value: '1' }, /contains "\.\."/, 'PATH'],
      ['memory_write', { key: 'notes/x', content: 'a: [\n' }, /invalid YAML in the text given for notes\/x\.yaml/, 'INVALID_YAML'],
      ['memory_append', { key: 'learned/patterns', list_path: 'retry', item: 'x' }, /not a list/, 'INVALID_OPERATION'],
      ['memory_update', { key: 'knowledge', path: 'db.password', value: 'hunter2' }, /looks like a secret/, 'SECRET'],
      ['memory_query', { key: 'current_work', query: '$.active_issues[?@.status==' }, /invalid JSONPath .* at position \d+/, 'INVALID_QUERY'],
      ['memory_sync', {}, /no remote named "origin"/, 'USAGE'],
      ['memory_read', { key: 'knowledge', project: '../..' }, /project: "\.\.\/\.\." is not a project name/, 'PATH'],
      ['state_set', { key: 'sessions', value: 'x' }, /state\.json: sessions: expected record/, 'SCHEMA'],
    ] as const) {
      const r = await call(client, name, args);
      expect(r.isError, name).toBe(true);
      expect(r.text).toMatch(message);
      expect(r.code, name).toBe(code);
      expect(r.text.includes('\n')).toBe(false);
    }
    expect(headOid(repo.dir)).toBe(head);

    // state.json changes are pending until the server stops; closing the client stops it, and it flushes first.
    await call(client, 'state_set', { key: 'sessions.s1.persona', value: 'developer' });
    await call(client, 'state_set', { key: 'tools', value: '[git, jira]' });
    await call(client, 'state_set', { key: 'scratch', value: '1' });
    await call(client, 'state_delete', { key: 'scratch' });
    expect(JSON.parse((await call(client, 'state_get', { key: 'sessions.s1' })).text)).toEqual({ persona: 'developer' });
    const pid = (client.transport as StdioClientTransport).pid!;
    await client.close();
    await exited(pid);
    expect(JSON.parse(await readFile(join(repo.dir, 'state.json'), 'utf8'))).toEqual({ sessions: { s1: { persona: 'developer' } }, tools: ['git', 'jira'] });
    expect(git(repo.dir, 'log', '-1', '--format=%(trailers:key=Gitstate-Op,valueonly)').trim()).toBe('flush');
    assertRepoHealthy(repo.dir);
  });
});

describe('a bad state.json never takes the memory tools down', () => {
  it('not JSON, then off its schema: the server starts, YAML tools work, state tools name the file and the fix, and recover after a reset', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'state.json'), '{broken');
    const client = await connect(repo.dir);
    const w = await call(client, 'memory_update', { key: 'knowledge', path: 'fact', value: 'still works' });
    expect(w.isError).toBe(false);
    expect(git(repo.dir, 'show', 'HEAD:knowledge.yaml')).toContain('fact: still works');
    expect((await call(client, 'memory_read', { key: 'knowledge' })).isError).toBe(false);
    for (const [bad, reason] of [
      ['{broken', /state\.json is not valid JSON/],
      ['{"tools": "git"}', /state\.json: tools: expected array/],
    ] as const) {
      await writeFile(join(repo.dir, 'state.json'), bad);
      for (const [name, args] of [
        ['state_get', {}],
        ['state_set', { key: 'persona', value: 'dev' }],
      ] as const) {
        const r = await call(client, name, args);
        expect(r.isError, name).toBe(true);
        expect(r.text).toMatch(reason);
        expect(r.text).toMatch(/gitstate state reset/);
      }
    }
    // Fixed from another shell: the state tools work again, no restart.
    expect((await cli(['state', 'reset'], { dir: repo.dir })).code).toBe(0);
    expect((await call(client, 'state_set', { key: 'persona', value: 'dev' })).isError).toBe(false);
    expect((await call(client, 'state_get', { key: 'persona' })).text).toBe('dev');
    await client.close();
  });
});

describe('project routing over MCP', () => {
  it('current_work means the project file with a project argument, GITSTATE_PROJECT or current_project; root: true reaches the root file; the session log is local time', async () => {
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
    const envClient = await connect(repo.dir, { GITSTATE_PROJECT: 'frontend', TZ: 'Pacific/Kiritimati' });
    expect((await call(envClient, 'memory_read', { key: 'current_work' })).text).toContain('test_status: passed');
    await sessionLogChecks(envClient, repo.dir);
    await envClient.close();
    assertRepoHealthy(repo.dir);
  });
});

/**
 * The session log over MCP, on a server started with TZ=Pacific/Kiritimati
 * (UTC+14: its local date differs from the UTC date ten hours a day): the
 * local date and time of one reading, no empty details, a one-line subject.
 */
async function sessionLogChecks(client: Client, dir: string): Promise<void> {
  const prevTz = process.env.TZ;
  process.env.TZ = 'Pacific/Kiritimati';
  try {
    const before = localDateTime(new Date());
    const r = JSON.parse((await call(client, 'memory_session_log', { action: 'deploy\nto prod\u0007 now' })).text);
    const after = localDateTime(new Date());
    expect([before.date, after.date]).toContain(r.file.slice('sessions/'.length, -'.yaml'.length));
    if (before.date === after.date) expect(r.entry.time >= before.time && r.entry.time <= after.time).toBe(true);
    expect(r.entry).toEqual({ time: expect.stringMatching(/^\d\d:\d\d:\d\d$/), action: 'deploy\nto prod\u0007 now' });
    expect(git(dir, 'show', `HEAD:${r.file}`)).not.toContain('details');
    expect(git(dir, 'log', '-1', '--format=%B').split('\n')[0]).toBe(`session log ${r.file.slice(9, 19)}: deploy to prod now`);
  } finally {
    if (prevTz === undefined) delete process.env.TZ;
    else process.env.TZ = prevTz;
  }
}

describe('state files as resources', () => {
  it('list, templates and read; resources/updated within 1 s of another process\'s commit, for this process\'s writes, hand edits and pulls; list_changed', async () => {
    const url = gitServer().createRepo('resources.git');
    const repo = await tempRepo();
    await repo.append('current_work', 'active_issues', { key: 'AAP-1', status: 'Open' });
    await repo.set('projects/backend/current_work', 'branch', 'main');
    const client = await connect(repo.dir);

    // list, templates, read
    expect(client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['gitstate://state/current_work.yaml', 'gitstate://state/projects/backend/current_work.yaml']));
    expect(resources.map((r) => r.uri).sort()).toEqual((await repo.list()).map((p) => `gitstate://state/${p}`).sort());
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['gitstate://state/{+path}', 'gitstate://state/{+path}{?key}']);
    const file = await client.readResource({ uri: 'gitstate://state/current_work.yaml' });
    expect(file.contents[0]).toMatchObject({ mimeType: 'application/yaml', text: await readFile(join(repo.dir, 'current_work.yaml'), 'utf8') });
    const value = await client.readResource({ uri: `gitstate://state/current_work.yaml?key=${encodeURIComponent('active_issues[key=AAP-1].status')}` });
    // as a user types it: the selector's "=" not encoded
    const typed = await client.readResource({ uri: 'gitstate://state/current_work.yaml?key=active_issues[key=AAP-1].status' });
    expect(typed.contents[0]).toMatchObject({ mimeType: 'application/json', text: '"Open"' });
    expect(value.contents[0]).toMatchObject({ mimeType: 'application/json', text: '"Open"' });
    await expect(client.readResource({ uri: 'gitstate://state/nope.yaml' })).rejects.toMatchObject({ code: -32002 });
    await expect(client.readResource({ uri: 'gitstate://state/../x.yaml' })).rejects.toMatchObject({ code: -32602 });
    await expect(client.readResource({ uri: 'file:///etc/passwd' })).rejects.toMatchObject({ code: -32602 });

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
    expect(JSON.parse((await client.readResource({ uri: keyUri })).contents[0]!.text as string)).toEqual([{ key: 'AAP-1', status: 'Open' }, { key: 'AAP-9' }]);

    // This process's own write, through a tool.
    const own = events.next(knowledgeUri);
    await call(client, 'memory_update', { key: 'knowledge', path: 'fact', value: 'one' });
    await own;
    // A hand edit, never committed.
    const hand = events.next(knowledgeUri);
    await writeFile(join(repo.dir, 'knowledge.yaml'), 'fact: edited by hand\n');
    await hand;
    await repo.commitFiles([{ path: 'knowledge.yaml', content: Buffer.from('fact: edited by hand\n') }], { op: 'write', subject: 'keep the hand edit' });

    // A change to another key of the file is not a change of the key subscription's value.
    let keyFired = false;
    void events.next(keyUri).then(() => (keyFired = true));
    const fileAgain = events.next(fileUri);
    await repo.set('current_work', 'active_issue', 'AAP-9');
    await fileAgain;

    // A pull: another clone pushes, this repo pulls (fast-forward), the subscriber hears of it.
    git(repo.dir, 'remote', 'add', 'origin', url);
    await sync(repo);
    const other = join(await tempDir(), 'other');
    // (native git talks to the in-process server: async, so this process keeps serving it)
    expect((await gitAsync(ROOT, 'clone', '-q', url, other)).code).toBe(0);
    await writeFile(join(other, 'knowledge.yaml'), 'fact: from another machine\n');
    git(other, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'elsewhere');
    expect((await gitAsync(other, 'push', '-q', 'origin', 'main')).code).toBe(0);
    const pulled = events.next(knowledgeUri);
    await pull(repo);
    await pulled;
    expect((await client.readResource({ uri: knowledgeUri })).contents[0]!.text).toBe('fact: from another machine\n');
    // Notifications come in order: the pull's came after the key-only change, and none came for the key.
    expect(keyFired).toBe(false);

    // A file that appears is a list_changed.
    const listChanged = new Promise<void>((resolve) => client.setNotificationHandler(ResourceListChangedNotificationSchema, () => resolve()));
    await repo.set('learned/patterns', 'retry', 'backoff');
    await listChanged;
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('gitstate://state/learned/patterns.yaml');
    await client.close();
    assertRepoHealthy(repo.dir);
  });
});
