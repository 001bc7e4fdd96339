/** The real servers (real-servers.mjs), one per test file: started before its tests, stopped after. */
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { startHttpServer, startSshServer } from './real-servers.mjs';
import { assertRepoHealthy, cleanupTempDirs, cli, headOid, tempDir } from './repo.js';

type HttpServer = Awaited<ReturnType<typeof startHttpServer>>;
type SshServer = Awaited<ReturnType<typeof startSshServer>>;

export function useHttpServer(options: Parameters<typeof startHttpServer>[0] = {}): () => HttpServer {
  let server: HttpServer | undefined;
  beforeAll(async () => {
    server = await startHttpServer(options);
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await cleanupTempDirs();
  });
  return () => server!;
}

export function useSshServer(): () => SshServer {
  let server: SshServer | undefined;
  beforeAll(async () => {
    server = await startSshServer();
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await cleanupTempDirs();
  });
  return () => server!;
}

/**
 * `machines` clones of `url` write at once and sync at once, each as its own
 * process, `rounds` times: every sync succeeds, and all end on one HEAD holding
 * every machine's last write.
 */
export async function simultaneousSyncs(url: string, machines: number, rounds: number): Promise<void> {
  const clone = async () => cloneRepo(url, join(await tempDir(), 'state'));
  const first = await clone();
  const repos = [first, ...(await Promise.all(Array.from({ length: machines - 1 }, clone)))];
  for (let round = 0; round < rounds; round++) {
    await Promise.all(repos.map((repo, i) => repo.set('knowledge', `m${i}`, `r${round}`)));
    // Separate processes, as separate machines are: each pushes while the others do.
    const results = await Promise.all(repos.map((repo) => cli(['sync'], { dir: repo.dir })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
  }
  for (const repo of repos) await sync(repo);
  expect(new Set(repos.map((r) => headOid(r.dir))).size).toBe(1);
  const expected = Object.fromEntries(repos.map((_, i) => [`m${i}`, `r${rounds - 1}`]));
  expect(await first.get('knowledge')).toMatchObject(expected);
  for (const repo of repos) assertRepoHealthy(repo.dir);
}
