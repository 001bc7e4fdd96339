/**
 * `gitstate gc`: every write leaves a few loose objects; gc packs them. Native
 * `git gc` where git is installed (it also prunes unreachable objects older than
 * its safety window and packs refs); otherwise isomorphic-git packs every loose
 * object into one pack and removes the loose copies — nothing is pruned then.
 * Runs under the repository lock, so no write is in flight; nothing reachable is
 * ever removed.
 */
import { execFile } from 'node:child_process';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateRepo } from '../core/repo.js';

export interface GcResult {
  method: 'native' | 'isomorphic-git';
  before: ObjectStats;
  after: ObjectStats;
}

export interface ObjectStats {
  looseObjects: number;
  packs: number;
  bytes: number;
}

export async function gc(repo: StateRepo, options: { native?: boolean } = {}): Promise<GcResult> {
  return repo.locked(async ({ store }) => {
    const before = await objectStats(repo.gitdir);
    const native = options.native !== false && (await hasGit());
    if (native) await run('git', ['gc', '--quiet'], repo.dir);
    else {
      const loose = await looseObjects(repo.gitdir);
      if (loose.length > 0) {
        await store.packObjects(loose);
        // Only once the pack and its index are in place do the loose copies go.
        await Promise.all(loose.map((oid) => rm(join(repo.gitdir, 'objects', oid.slice(0, 2), oid.slice(2)), { force: true })));
      }
    }
    return { method: native ? 'native' : 'isomorphic-git', before, after: await objectStats(repo.gitdir) };
  });
}

async function looseObjects(gitdir: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of await readdir(join(gitdir, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of await readdir(join(gitdir, 'objects', dir))) if (/^[0-9a-f]{38}$/.test(name)) out.push(dir + name);
  }
  return out;
}

export async function objectStats(gitdir: string): Promise<ObjectStats> {
  const stats: ObjectStats = { looseObjects: 0, packs: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else {
        stats.bytes += (await stat(path)).size;
        if (/^[0-9a-f]{38}$/.test(entry.name)) stats.looseObjects++;
        if (entry.name.endsWith('.pack')) stats.packs++;
      }
    }
  };
  await walk(join(gitdir, 'objects'));
  return stats;
}

function hasGit(): Promise<boolean> {
  return new Promise((resolve) => execFile('git', ['--version'], (err) => resolve(!err)));
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { cwd }, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim()}`)) : resolve())));
}
