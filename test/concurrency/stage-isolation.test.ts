/**
 * A fetch runs outside the repository lock while writes go on in the same
 * process (an assistant's memory_sync beside its memory_update). Each write
 * stages and publishes its own files only: the fetch's pack and refs are never
 * caught up in a write, nor removed when a write's stage is done. Here the
 * fetch is slowed by a proxy in front of a real git server so the writes land
 * in the middle of it.
 */
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { addRemote } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { useGitServer } from '../helpers/server.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempDir, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);
const gitServer = useGitServer();

/** An http proxy to `target` that holds every response body back by `delayMs` per chunk. */
async function slowProxy(target: string, delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    const upstream = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('data', (chunk: Buffer) => {
        up.pause();
        setTimeout(() => {
          res.write(chunk);
          up.resume();
        }, delayMs);
      });
      up.on('end', () => setTimeout(() => res.end(), delayMs));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('a fetch beside writes in one process', () => {
  it('the slow fetch and 40 writes all land; nothing of either is lost or removed', async () => {
    const url = gitServer().createRepo('isolation.git');
    // Another machine fills the remote with history, so the fetch has a pack to bring.
    const other = await tempRepo();
    await addRemote(other, 'origin', url);
    await other.transaction(async (tx) => {
      for (let i = 0; i < 200; i++) await tx.write(`notes/remote/n${i}`, `n: ${i}\nfiller: ${'x'.repeat(200)}\n`);
    });
    await sync(other);
    const theirs = git(other.dir, 'rev-parse', 'HEAD').trim();

    const proxy = await slowProxy(gitServer().url, 15);
    try {
      const created = await StateRepo.init(join(await tempDir(), 'state'));
      const repo = await StateRepo.open(created.dir);
      await addRemote(repo, 'origin', `${proxy.url}/isolation.git`);
      let synced = false;
      let writtenDuringSync = 0;
      // two machines that each began with their own init: joining them is what this test wants
      const syncing = sync(repo, { timeoutMs: 60_000, allowUnrelated: true }).then(() => (synced = true));
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        writes.push(repo.set('knowledge', `local${i}`, i).then(() => !synced && writtenDuringSync++));
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all([syncing, ...writes]);
      expect(writtenDuringSync, 'writes were committed while the fetch was under way').toBeGreaterThan(5);
      // whatever the order, the local writes and the remote's history are all in HEAD
      const knowledge = (await repo.get('knowledge')) as Record<string, number>;
      for (let i = 0; i < 40; i++) expect(knowledge[`local${i}`]).toBe(i);
      expect(git(repo.dir, 'merge-base', '--is-ancestor', theirs, 'HEAD')).toBe('');
      expect(await repo.get('notes/remote/n199', 'n')).toBe(199);
      assertRepoHealthy(repo.dir); // fsck: every object both histories need is there
      // a second sync has nothing to fetch and pushes the merge
      await sync(repo, { timeoutMs: 60_000 });
      expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(git(repo.dir, 'rev-parse', 'refs/remotes/origin/main').trim());
    } finally {
      await proxy.close();
    }
  });
});
