/** One real git server per test file, started before its tests and closed after. */
import { afterAll, beforeAll } from 'vitest';
import { startGitServer, type GitServer } from './git-server.mjs';
import { cleanupTempDirs } from './repo.js';

export function useGitServer(): () => GitServer {
  let server: GitServer | undefined;
  beforeAll(async () => {
    server = await startGitServer();
  });
  afterAll(async () => {
    await server?.close();
    await cleanupTempDirs();
  });
  return () => server!;
}
