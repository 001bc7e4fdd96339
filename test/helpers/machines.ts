/** Two machines syncing through one remote on a test git server: one synced to it, one cloned from it. */
import { join } from 'node:path';
import type { StateRepo } from '../../src/core/repo.js';
import { addRemote, cloneRepo } from '../../src/sync/remote.js';
import { sync } from '../../src/sync/sync.js';
import { tempDir, tempRepo } from './repo.js';

export async function machinesOn(server: { createRepo(name: string): string }, name: string): Promise<{ url: string; laptop: StateRepo; desktop: StateRepo }> {
  const url = server.createRepo(`${name}.git`);
  const laptop = await tempRepo();
  await addRemote(laptop, 'origin', url);
  await sync(laptop);
  const desktop = await cloneRepo(url, join(await tempDir(), 'state'));
  return { url, laptop, desktop };
}
