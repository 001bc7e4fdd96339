import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateRepo } from '../../src/core/repo.js';
import { afterWrite, autoDelay } from '../../src/sync/auto.js';
import { describe, expect, it } from 'vitest';
import { useGitServer } from '../helpers/server.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, cli, gitAsync, headOid, tempDir } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

const gitServer = useGitServer();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait for `check` to hold (the background syncer runs on its own time), failing after `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function serverTip(name: string): Promise<string> {
  return (await gitAsync(join(gitServer().root, name), 'rev-parse', 'main')).stdout.trim();
}

describe('auto-sync', () => {
  // 15 s of quiet periods: the full tier; the quick tier's MCP case below also waits for a background push
  itFull('writes return at once; a background sync pushes them once quiet; a failure is shown and retried', async () => {
    const url = gitServer().createRepo('auto.git');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['clone', url], { dir })).code).toBe(0);
    await cli(['write', '.gitstate/sync'], { dir, input: 'auto: true\nauto_delay_ms: 4000\n' });
    const before = await serverTip('auto.git');

    for (let i = 0; i < 3; i++) expect((await cli(['set', 'knowledge', 'n', String(i)], { dir })).code).toBe(0);
    // the writes came back without waiting for the network: the syncer waits for them to be quiet
    expect(await serverTip('auto.git')).toBe(before);
    await until(async () => (await serverTip('auto.git')) === headOid(dir), 'the background sync to push');

    gitServer().fault = 'error';
    await cli(['set', 'knowledge', 'n', 'offline'], { dir });
    let status: { sync: { lastError: string | null } } = { sync: { lastError: null } };
    await until(async () => {
      status = JSON.parse((await cli(['status', '--json'], { dir })).stdout);
      return Boolean(status.sync.lastError);
    }, 'status to show the failed sync');
    expect(status.sync.lastError).toMatch(/HTTP 500|failed/);

    gitServer().fault = 'none';
    await cli(['set', 'knowledge', 'n', 'back online'], { dir });
    await until(async () => (await serverTip('auto.git')) === headOid(dir), 'the retried sync to push');
    expect(JSON.parse((await cli(['status', '--json'], { dir })).stdout).sync.lastError).toBeNull();
  }, 180_000);

  it('settings read unchecked by a write turn auto-sync on only with auto: true, and a wait a timer can hold', async () => {
    expect(autoDelay({})).toBe(5000);
    expect(autoDelay({ auto_delay_ms: 250 })).toBe(250);
    expect(autoDelay({ auto_delay_ms: 1e12 })).toBe(3_600_000);
    expect(autoDelay({ auto_delay_ms: -5 })).toBe(0);
    expect(autoDelay({ auto_delay_ms: 'soon' as unknown as number })).toBe(5000);
    const url = gitServer().createRepo('auto-off.git');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['clone', url], { dir })).code).toBe(0);
    // committed by hand (a write would refuse it): the string "no" must not turn auto-sync on
    await writeFile(join(dir, '.gitstate/sync.yaml'), 'auto: "no"\n');
    await gitAsync(dir, 'add', '.gitstate/sync.yaml');
    await gitAsync(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-m', 'settings');
    expect(await afterWrite(await StateRepo.open(dir), CLI)).toBe(false);
  });

  it('a sync merging under settings a write never checked fails naming them, and status shows it', async () => {
    const { laptop, desktop } = await (async () => {
      const url = gitServer().createRepo('bad-settings.git');
      const a = join(await tempDir(), 'state');
      const b = join(await tempDir(), 'state');
      expect((await cli(['clone', url], { dir: a })).code).toBe(0);
      expect((await cli(['clone', url], { dir: b })).code).toBe(0);
      return { laptop: a, desktop: b };
    })();
    await writeFile(join(desktop, '.gitstate/sync.yaml'), 'strategy: bogus\n');
    await gitAsync(desktop, 'add', '.gitstate/sync.yaml');
    await gitAsync(desktop, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-m', 'settings');
    await cli(['set', 'knowledge', 'x', 'laptop'], { dir: laptop });
    expect((await cli(['sync'], { dir: laptop })).code).toBe(0);
    await cli(['set', 'knowledge', 'x', 'desktop'], { dir: desktop });
    const r = await cli(['sync'], { dir: desktop });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^gitstate: \.gitstate\/sync\.yaml: strategy: expected a strategy: newest, ours, theirs, manual \(schema\); fix it with gitstate write \.gitstate\/sync\.yaml$/m);
    expect(JSON.parse((await cli(['status', '--json'], { dir: desktop })).stdout).sync.lastError).toMatch(/strategy: expected a strategy/);
  });

  it('an MCP tool write is synced in the background too', async () => {
    const url = gitServer().createRepo('auto-mcp.git');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['clone', url], { dir })).code).toBe(0);
    await cli(['write', '.gitstate/sync'], { dir, input: 'auto: true\nauto_delay_ms: 300\n' });
    await until(async () => (await serverTip('auto-mcp.git')) === headOid(dir), 'the settings to be pushed');
    const client = new Client({ name: 'auto-sync-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, '--dir', dir, 'mcp'], env: { ...process.env, GITSTATE_DIR: '' } as Record<string, string>, stderr: 'pipe' }));
    try {
      const r = (await client.callTool({ name: 'memory_update', arguments: { key: 'knowledge', path: 'from_mcp', value: 'yes' } })) as { isError?: boolean };
      expect(r.isError).toBeFalsy();
      await until(async () => (await serverTip('auto-mcp.git')) === headOid(dir), 'the background sync to push the MCP write');
      expect((await gitAsync(join(gitServer().root, 'auto-mcp.git'), 'show', 'main:knowledge.yaml')).stdout).toContain('from_mcp');
    } finally {
      await client.close();
    }
  }, 120_000);
});
