/**
 * SIGKILL a writer at random moments: every file still parses, the repo is
 * fsck-clean, every acknowledged commit is in history, and the next writer
 * takes over the stale lock, reconciles what was left, and succeeds.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { StateRepo } from '../../src/core/repo.js';
import { assertRepoHealthy, cleanupTempDirs, git, gitAsync, tempRepo } from '../helpers/repo.js';
import { writer } from '../helpers/writer.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const TRIALS = sized(3, 50, 'CRASH_TRIALS');
const STALE_MS = 2000;

async function stateFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await stateFiles(dir, path)));
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(path);
  }
  return out;
}

describe('a writer killed with SIGKILL mid-write', () => {
  it(`${TRIALS} random kills: files parse, fsck clean, acknowledged writes kept, next writer recovers`, async () => {
    const repo = await tempRepo();
    const waits: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const child = writer(repo.dir, 'mixed', `w${trial}`, 0, { GITSTATE_LOCK_STALE_MS: String(STALE_MS) });
      // Let it get going, then kill it at a random moment.
      while (!child.stdout().includes('ack ')) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 300));
      child.proc.kill('SIGKILL');
      await child.exited;

      for (const file of await stateFiles(repo.dir)) {
        const text = await readFile(join(repo.dir, file), 'utf8');
        expect(() => (file.endsWith('.json') ? JSON.parse(text) : parse(text)), `${file} after trial ${trial}`).not.toThrow();
      }
      git(repo.dir, 'fsck', '--strict', '--no-progress');
      const head = git(repo.dir, 'rev-parse', 'HEAD').trim();
      expect(git(repo.dir, 'cat-file', '-t', head).trim()).toBe('commit');
      const acked = [...child.stdout().matchAll(/ack ([0-9a-f]{40})/g)].map((m) => m[1]!);
      expect(acked.length).toBeGreaterThan(0);
      for (const commit of acked) expect((await gitAsync(repo.dir, 'merge-base', '--is-ancestor', commit, 'HEAD')).code, commit).toBe(0);

      // The next writer: takes over the lock if the dead one held it, reconciles, writes.
      const t = Date.now();
      const next = await StateRepo.open(repo.dir, { staleMs: STALE_MS, timeoutMs: 15_000 });
      await next.set('knowledge', 'after_crash', trial);
      waits.push(Date.now() - t);
      assertRepoHealthy(repo.dir);
    }
    console.log(`next writer after a SIGKILL: waited ${Math.min(...waits)}-${Math.max(...waits)} ms (stale lock after ${STALE_MS} ms)`);
  }, 60_000 + TRIALS * 10_000);
});
