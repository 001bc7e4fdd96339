import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TMP_DIR } from '../../src/git/atomic-fs.js';
import { assertRepoHealthy, cleanupTempDirs, cli, git, ROOT, tempDir, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);
const run = promisify(execFile);

const ino = (path: string) => statSync(path).ino;
/** The inode of every loose object file in the repo. */
function objectInodes(gitdir: string): Set<number> {
  const inodes = new Set<number>();
  for (const fanout of readdirSync(join(gitdir, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(fanout)) continue;
    for (const name of readdirSync(join(gitdir, 'objects', fanout))) inodes.add(ino(join(gitdir, 'objects', fanout, name)));
  }
  return inodes;
}

describe('inode recycling in the write path', () => {
  it('rewrites the ref and the index into the files they replaced, alternating between two', async () => {
    const repo = await tempRepo();
    const ref = join(repo.gitdir, 'refs/heads/main');
    const seen = { ref: new Set<number>(), index: new Set<number>() };
    for (let i = 0; i < 8; i++) {
      await repo.set('knowledge', 'n', i);
      seen.ref.add(ino(ref));
      seen.index.add(ino(join(repo.gitdir, 'index')));
    }
    // A fresh file per write would give 8 inodes each.
    expect(seen.ref.size).toBeLessThanOrEqual(3);
    expect(seen.index.size).toBeLessThanOrEqual(3);
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(readFileSync(ref, 'utf8').trim());
    assertRepoHealthy(repo.dir);
  });

  it('never gives a state file an inode another version of a state file had; retired ones hold objects', async () => {
    const repo = await tempRepo();
    const stateInodes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const file = i % 2 ? 'knowledge' : 'shared_context';
      await repo.set(file, 'n', i);
      stateInodes.push(ino(join(repo.dir, `${file}.yaml`)));
    }
    // A reader still holding an old version open can never see another state file's text in it.
    expect(new Set(stateInodes).size).toBe(stateInodes.length);
    // ...but the replaced versions were not freed: new objects were written into them.
    const objects = objectInodes(repo.gitdir);
    expect(stateInodes.slice(0, -2).filter((i) => objects.has(i)).length).toBeGreaterThan(0);
    expect(await repo.get('knowledge', 'n')).toBe(11);
    assertRepoHealthy(repo.dir);
  });

  it('leaves only the spares of the ref and index behind when a writer exits', async () => {
    const dir = join(await tempDir(), 'state'); // made by other processes: this one holds no blanks there
    expect((await cli(['init'], { dir })).code).toBe(0);
    await run(process.execPath, [join(ROOT, 'test/helpers/writer-child.mjs'), dir, 'append', 'w', '6']);
    const repo = { dir, gitdir: join(dir, '.git') };
    const left = readdirSync(join(repo.gitdir, TMP_DIR));
    expect(left.length).toBeGreaterThan(0);
    expect(left.filter((name) => !name.startsWith('spare-'))).toEqual([]);
    expect(git(repo.dir, 'show', 'HEAD:knowledge.yaml')).toContain('w-5');
    assertRepoHealthy(repo.dir);
  });

  it('writes on when its spares and blanks were swept away, or a stale file sits under a spare name', async () => {
    const repo = await tempRepo();
    for (let i = 0; i < 4; i++) await repo.set('knowledge', 'n', i);
    const tmp = join(repo.gitdir, TMP_DIR);
    for (const name of readdirSync(tmp)) rmSync(join(tmp, name)); // what another writer's recovery sweep does
    await repo.set('knowledge', 'n', 4);
    await repo.set('knowledge', 'n', 5);
    for (const name of readdirSync(tmp)) {
      if (!name.startsWith('spare-')) continue;
      const other = join(tmp, name.replace(/-(a|b)$/, (_, side: string) => (side === 'a' ? '-b' : '-a')));
      writeFileSync(other, 'stale'); // both names taken: the next write must take one over
    }
    await repo.set('knowledge', 'n', 6);
    await repo.set('knowledge', 'n', 7);
    expect(await repo.get('knowledge', 'n')).toBe(7);
    expect(git(repo.dir, 'show', 'HEAD~1:knowledge.yaml')).toContain('n: 6');
    assertRepoHealthy(repo.dir);
  });

  it('makes the object fan-out folders a new repository lacks while its writes sync', async () => {
    const repo = await tempRepo();
    const fanouts = () => readdirSync(join(repo.gitdir, 'objects')).filter((n) => /^[0-9a-f]{2}$/.test(n)).length;
    const before = fanouts();
    expect(before).toBeLessThan(40); // init made only the folders of its few objects
    for (let i = 0; i < 34; i++) await repo.set('knowledge', 'n', i); // 8 folders a commit after the first
    expect(fanouts()).toBe(256);
    assertRepoHealthy(repo.dir);
  });

  it('keeps the journal in place between writes, holding null', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', 'n', 1);
    const journal = join(repo.gitdir, 'gitstate-pending.json');
    const before = ino(journal);
    await repo.set('knowledge', 'n', 2);
    expect(readFileSync(journal, 'utf8')).toBe('null');
    expect(ino(journal)).toBe(before);
    expect((await repo.recover()).restored).toEqual([]);
  });
});
