import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGitServer } from '../helpers/server.js';
import { cli, gitAsync, headOid, tempDir } from '../helpers/repo.js';

const gitServer = useGitServer();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serverTip(name: string): Promise<string> {
  return (await gitAsync(join(gitServer().root, name), 'rev-parse', 'main')).stdout.trim();
}

describe('auto-sync', () => {
  it('writes return at once; a background sync pushes them once quiet; a failure is shown and retried', async () => {
    const url = gitServer().createRepo('auto.git');
    const dir = join(await tempDir(), 'state');
    expect((await cli(['clone', url], { dir })).code).toBe(0);
    await cli(['write', '.gitstate/sync'], { dir, input: 'auto: true\nauto_delay_ms: 300\n' });

    const t = Date.now();
    for (let i = 0; i < 3; i++) expect((await cli(['set', 'knowledge', 'n', String(i)], { dir })).code).toBe(0);
    expect(Date.now() - t).toBeLessThan(5000);
    for (let i = 0; i < 100 && (await serverTip('auto.git')) !== headOid(dir); i++) await sleep(100);
    expect(await serverTip('auto.git')).toBe(headOid(dir));

    gitServer().fault = 'error';
    await cli(['set', 'knowledge', 'n', 'offline'], { dir });
    let status: { sync: { lastError: string | null } } = { sync: { lastError: null } };
    for (let i = 0; i < 100 && !status.sync.lastError; i++) {
      await sleep(100);
      status = JSON.parse((await cli(['status', '--json'], { dir })).stdout);
    }
    expect(status.sync.lastError).toMatch(/HTTP 500|failed/);

    gitServer().fault = 'none';
    await cli(['set', 'knowledge', 'n', 'back online'], { dir });
    for (let i = 0; i < 100 && (await serverTip('auto.git')) !== headOid(dir); i++) await sleep(100);
    expect(await serverTip('auto.git')).toBe(headOid(dir));
    expect(JSON.parse((await cli(['status', '--json'], { dir })).stdout).sync.lastError).toBeNull();
  }, 60_000);
});
