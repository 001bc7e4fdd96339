import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../helpers/git-server.mjs';
import { cleanupTempDirs, cli, gitAsync, headOid, tempDir } from '../helpers/repo.js';

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.close();
  await cleanupTempDirs();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serverTip(name: string): Promise<string> {
  return (await gitAsync(join(server.root, name), 'rev-parse', 'main')).stdout.trim();
}

describe('auto-sync', () => {
  it('writes return at once; a background sync pushes them once quiet; a failure is shown and retried', async () => {
    const url = server.createRepo('auto.git');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['clone', url], { dir })).code).toBe(0);
    await cli(['write', '.gitstate/sync'], { dir, input: 'auto: true\nauto_delay_ms: 300\n' });

    const t = Date.now();
    for (let i = 0; i < 3; i++) expect((await cli(['set', 'knowledge', 'n', String(i)], { dir })).code).toBe(0);
    expect(Date.now() - t).toBeLessThan(5000);
    for (let i = 0; i < 100 && (await serverTip('auto.git')) !== headOid(dir); i++) await sleep(100);
    expect(await serverTip('auto.git')).toBe(headOid(dir));

    server.fault = 'error';
    await cli(['set', 'knowledge', 'n', 'offline'], { dir });
    let status: { sync: { lastError: string | null } } = { sync: { lastError: null } };
    for (let i = 0; i < 100 && !status.sync.lastError; i++) {
      await sleep(100);
      status = JSON.parse((await cli(['status', '--json'], { dir })).stdout);
    }
    expect(status.sync.lastError).toMatch(/HTTP 500|failed/);

    server.fault = 'none';
    await cli(['set', 'knowledge', 'n', 'back online'], { dir });
    for (let i = 0; i < 100 && (await serverTip('auto.git')) !== headOid(dir); i++) await sleep(100);
    expect(await serverTip('auto.git')).toBe(headOid(dir));
    expect(JSON.parse((await cli(['status', '--json'], { dir })).stdout).sync.lastError).toBeNull();
  }, 60_000);
});
