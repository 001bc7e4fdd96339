/** The real servers (real-servers.mjs), one per test file: started before its tests, stopped after. */
import { afterAll, beforeAll } from 'vitest';
import { startHttpServer, startSshServer } from './real-servers.mjs';
import { cleanupTempDirs } from './repo.js';

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
