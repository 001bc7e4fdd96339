/**
 * The repository lock: exclusion, bounded waits, and taking over from a holder
 * that is gone. Time comes from an injected clock, so nothing here depends on
 * how loaded the machine is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_DIR, takeOverIfGone, withRepoLock } from '../../src/core/lock.js';
import { GitLockFile } from '../../src/git/lockfile.js';
import { nodeDisk } from '../../src/git/disk.js';
import { LockError, RepoError } from '../../src/errors.js';
import { FakeClock } from '../helpers/clock.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { assertRepoHealthy, cleanupTempDirs, cli, git, tempRepo } from '../helpers/repo.js';
import { writer } from '../helpers/writer.js';

afterAll(cleanupTempDirs);

const boot = existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';

/** A lock folder, and the note on it, as another holder leaves them. */
function placeLock(gitdir: string, owner: { pid: number; gitLocks?: Array<{ path: string; since: number; ino?: number; birth?: string; temp?: string }> } | null, mtime = new Date()) {
  const dir = join(gitdir, LOCK_DIR);
  mkdirSync(dir);
  const stats = statSync(dir, { bigint: true });
  const lock = `${stats.ino}:${stats.birthtimeNs}`;
  if (owner) writeFileSync(join(gitdir, 'gitstate-lock-owner.json'), JSON.stringify({ lock, host: hostname(), boot, since: Date.now(), gitLocks: [], ...owner }));
  utimesSync(dir, mtime, mtime);
  return dir;
}

/** git's index and branch locks, made as a git process (or a gitstate writer) holding them would leave them. */
function gitLocks(gitdir: string): { indexLock: string; refLock: string } {
  const indexLock = join(gitdir, 'index.lock');
  const refLock = join(gitdir, 'refs/heads/main.lock');
  writeFileSync(indexLock, '');
  writeFileSync(refLock, '');
  return { indexLock, refLock };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('repository lock', () => {
  it('gives up after the timeout with exit 5, naming the holder, while a live holder keeps it', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, { pid: process.pid });
    const clock = new FakeClock();
    const start = clock.now();
    const err = await withRepoLock(repo.gitdir, { timeoutMs: 3_000, clock }, async () => 'taken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).exitCode).toBe(5);
    expect((err as Error).message).toContain(`process ${process.pid} on ${hostname()}`);
    expect(clock.elapsedSince(start)).toBeGreaterThanOrEqual(3_000);
    // the waits were short and capped: a waiter looks again within milliseconds
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(24);
  });

  it('takes a lock whose holder is provably gone (same host, pid not running) at once', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, { pid: deadPid() });
    const clock = new FakeClock();
    const start = clock.now();
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 3_000, clock }, async () => 'taken')).toBe('taken');
    expect(clock.elapsedSince(start)).toBe(0);
    expect(existsSync(join(repo.gitdir, LOCK_DIR))).toBe(false);
  });

  it('takes a lock left before the machine restarted, whatever pid it names', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, { pid: process.pid, boot: 'another-boot' } as never);
    const clock = new FakeClock();
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 3_000, clock }, async () => 'taken')).toBe('taken');
  });

  it('a note about another lock folder (an earlier one, whose inode was reused) proves nothing', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, { pid: deadPid() });
    const note = join(repo.gitdir, 'gitstate-lock-owner.json');
    writeFileSync(note, readFileSync(note, 'utf8').replace(/"lock":"(\d+):/, '"lock":"$1999:'));
    const clock = new FakeClock();
    const err = await withRepoLock(repo.gitdir, { timeoutMs: 1_000, staleMs: 5_000, clock }, async () => 'taken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
  });

  it('takes a stale lock (not refreshed for staleMs) from a holder it cannot prove gone', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, null, new Date(Date.now() - 10_000));
    const clock = new FakeClock();
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 3_000, staleMs: 5_000, clock }, async () => 'taken')).toBe('taken');
  });

  it('counts a lock from the future as stale after staleMs from when it was first seen, not never', async () => {
    const repo = await tempRepo();
    placeLock(repo.gitdir, null, new Date(Date.now() + 3_600_000));
    const clock = new FakeClock();
    const start = clock.now();
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 10_000, staleMs: 2_000, clock }, async () => 'taken')).toBe('taken');
    expect(clock.elapsedSince(start)).toBeGreaterThanOrEqual(2_000);
    expect(clock.elapsedSince(start)).toBeLessThan(2_100);
  });

  it('a plain file at the lock path is a clear error, not ENOTDIR', async () => {
    const repo = await tempRepo();
    writeFileSync(join(repo.gitdir, LOCK_DIR), 'not a lock');
    const err = await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => 'taken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoError);
    expect((err as Error).message).toMatch(/gitstate\.lock is a file.*remove the file/);
  });

  it('removes the git lock files a dead holder recorded, and only those', async () => {
    const repo = await tempRepo();
    const { indexLock, refLock } = gitLocks(repo.gitdir);
    const since = Date.now();
    // the dead holder recorded index.lock; main.lock's inode does not match what it recorded
    placeLock(repo.gitdir, { pid: deadPid(), gitLocks: [{ path: indexLock, since, ino: statSync(indexLock).ino }, { path: refLock, since, ino: statSync(refLock).ino + 1 }] });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => undefined);
    expect(existsSync(indexLock)).toBe(false);
    expect(existsSync(refLock)).toBe(true);
  });

  it("a holder stopped by a signal (its lock folder removed on the way out, its note left): the next holder removes the git locks it recorded", async () => {
    const repo = await tempRepo();
    const { indexLock, refLock } = gitLocks(repo.gitdir);
    const since = Date.now();
    const dead = { pid: deadPid(), gitLocks: [{ path: indexLock, since, ino: statSync(indexLock).ino }, { path: refLock, since, ino: statSync(refLock).ino }] };
    rmSync(placeLock(repo.gitdir, dead), { recursive: true }); // what proper-lockfile's exit handler does
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async (lock) => expect(lock.tookOver).toBe(true));
    expect(existsSync(indexLock)).toBe(false);
    expect(existsSync(refLock)).toBe(false);
    // a note a live holder left (never cleared) proves nothing: its locks stay
    writeFileSync(indexLock, '');
    rmSync(placeLock(repo.gitdir, { pid: process.pid, gitLocks: [{ path: indexLock, since, ino: statSync(indexLock).ino }] }), { recursive: true });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async (lock) => expect(lock.tookOver).toBe(false));
    expect(existsSync(indexLock)).toBe(true);
  });

  it('a git lock a dead holder recorded only as about to be made, or whose file is another on the same inode, is not removed: it may be native git\'s', async () => {
    const repo = await tempRepo();
    const { indexLock, refLock } = gitLocks(repo.gitdir);
    const made = (path: string) => statSync(path).birthtimeMs || statSync(path).mtimeMs;
    const refStats = statSync(refLock, { bigint: true });
    placeLock(repo.gitdir, {
      pid: deadPid(),
      gitLocks: [
        // what an older gitstate wrote before making the file (the holder died waiting on native git's)
        { path: indexLock, since: made(indexLock) },
        // this inode, but another file: made at another time
        { path: refLock, since: made(refLock), ino: Number(refStats.ino), birth: String(refStats.birthtimeNs + 1n) } as never,
      ],
    });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => undefined);
    expect(existsSync(indexLock)).toBe(true);
    expect(existsSync(refLock)).toBe(true);
  });

  it('records the git lock file it made, by identity, before the file takes the lock\'s name; never the native git lock it waits on', async () => {
    const repo = await tempRepo();
    const target = join(repo.gitdir, 'index');
    writeFileSync(`${target}.lock`, 'native git holds this');
    const native = statSync(`${target}.lock`).ino;
    const noted: Array<[string, { ino: string; birth?: string; temp?: string } | null]> = [];
    const onLock = (path: string, made: { ino: string; birth?: string; temp?: string } | null) => noted.push([path, made]);
    const err = await GitLockFile.acquire(target, { timeoutMs: 500, clock: new FakeClock(), onLock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect(noted.map(([path]) => path)).toEqual([`${target}.lock`, `${target}.lock`]);
    expect(noted[0]![1]!.ino).not.toBe(String(native));
    expect(noted[0]![1]!.temp).toMatch(/index\.\d+-[a-z0-9]+\.lock$/);
    expect(noted[1]![1]).toBeNull(); // given up: forgotten, and its own file gone
    expect(existsSync(noted[0]![1]!.temp!)).toBe(false);
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe('native git holds this');
    rmSync(`${target}.lock`);
    const lock = await GitLockFile.acquire(target, { timeoutMs: 500, clock: new FakeClock(), onLock });
    const stats = statSync(`${target}.lock`, { bigint: true });
    expect(noted[2]![1]).toMatchObject({ ino: String(stats.ino) });
    expect(existsSync(noted[2]![1]!.temp!)).toBe(false); // the lock is its only name now
    lock.rollback();
    expect(noted[3]).toEqual([`${target}.lock`, null]);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('a holder killed while it waited on native git\'s lock leaves its own file, removed by the next; killed once it had the lock, the lock goes too', async () => {
    const repo = await tempRepo();
    const indexLock = join(repo.gitdir, 'index.lock');
    writeFileSync(indexLock, 'native git holds this');
    const made = (file: string) => {
      writeFileSync(file, '');
      const stats = statSync(file, { bigint: true });
      return { ino: String(stats.ino), temp: file }; // by inode: the same on file systems without birth times
    };
    const waiting = made(join(repo.gitdir, 'index.4242-abc.lock'));
    placeLock(repo.gitdir, { pid: deadPid(), gitLocks: [{ path: indexLock, since: Date.now(), ...waiting }] });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => undefined);
    expect(existsSync(waiting.temp)).toBe(false);
    expect(readFileSync(indexLock, 'utf8')).toBe('native git holds this');
    rmSync(indexLock);
    const holding = made(join(repo.gitdir, 'index.4343-def.lock'));
    linkSync(holding.temp, indexLock); // killed between the link and removing its first name
    placeLock(repo.gitdir, { pid: deadPid(), gitLocks: [{ path: indexLock, since: Date.now(), ...holding }] });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => undefined);
    expect(existsSync(indexLock)).toBe(false);
    expect(existsSync(holding.temp)).toBe(false);
  });

  it('a writer killed just after making the lock folder has named itself: the next takes the lock at once', async () => {
    const repo = await tempRepo();
    const killed = await cli(['set', 'knowledge', 'a', '1'], { dir: repo.dir, env: { GITSTATE_CRASH_AT: 'lock-claimed' } });
    expect(killed.code).toBe(-1); // killed by the signal
    expect(existsSync(join(repo.gitdir, LOCK_DIR))).toBe(true);
    const clock = new FakeClock();
    const start = clock.now();
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 3_000, clock }, async () => 'taken')).toBe('taken');
    expect(clock.elapsedSince(start)).toBe(0);
  });

  it('a waiter that judged a dead holder\'s lock gone, while another took it over and made its own, leaves that live lock\'s git locks and note alone', async () => {
    const repo = await tempRepo();
    const lockPath = placeLock(repo.gitdir, { pid: deadPid() });
    const { indexLock } = gitLocks(repo.gitdir);
    const note = join(repo.gitdir, 'gitstate-lock-owner.json');
    // the clock is asked the time between the look and the rename: the other waiter gets in there
    const clock = new FakeClock();
    const now = clock.now.bind(clock);
    let liveNote = '';
    clock.now = () => {
      if (!liveNote) {
        rmSync(lockPath, { recursive: true });
        const stats = statSync(placeLock(repo.gitdir, null), { bigint: true });
        const lock = `${stats.ino}:${stats.birthtimeNs}`;
        const ino = Number(statSync(indexLock, { bigint: true }).ino);
        liveNote = JSON.stringify({ lock, pid: process.pid, host: hostname(), boot, since: Date.now(), gitLocks: [{ path: indexLock, since: Date.now(), ino }] });
        writeFileSync(note, liveNote);
      }
      return now();
    };
    expect(takeOverIfGone(lockPath, 5_000, clock, new Map())).toBe('released');
    expect(existsSync(indexLock)).toBe(true);
    expect(readFileSync(note, 'utf8')).toBe(liveNote);
    expect(readdirSync(repo.gitdir).filter((n) => n.startsWith(`${LOCK_DIR}.gone-`))).toEqual([]);
  });

  it('a taker clears the dead holder\'s note only while it is about the folder it took: a waiter that named itself meanwhile keeps its note', async () => {
    const repo = await tempRepo();
    const lockPath = placeLock(repo.gitdir, { pid: deadPid() });
    const note = join(repo.gitdir, 'gitstate-lock-owner.json');
    const clock = new FakeClock();
    const now = clock.now.bind(clock);
    const newer = JSON.stringify({ lock: '1:2', pid: process.pid, host: hostname(), boot, since: Date.now(), gitLocks: [] });
    let asked = false;
    clock.now = () => {
      if (!asked) writeFileSync(note, newer); // a waiter that made the lock folder anew has named itself
      asked = true;
      return now();
    };
    expect(takeOverIfGone(lockPath, 5_000, clock, new Map())).toBe('taken-over');
    expect(readFileSync(note, 'utf8')).toBe(newer);
  });

  it('a holder whose lock was taken over writes nothing more in the note, and finds out before it places anything', async () => {
    const repo = await tempRepo();
    const note = join(repo.gitdir, 'gitstate-lock-owner.json');
    let after = '';
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async (lock) => {
      // taken over while this holder was stopped: its folder gone, another's in its place, named in the note
      rmSync(join(repo.gitdir, LOCK_DIR), { recursive: true });
      const stats = statSync(placeLock(repo.gitdir, null), { bigint: true });
      writeFileSync(note, JSON.stringify({ lock: `${stats.ino}:${stats.birthtimeNs}`, pid: process.pid + 1, host: hostname(), boot, since: Date.now(), gitLocks: [] }));
      after = readFileSync(note, 'utf8');
      lock.noteGitLock(join(repo.gitdir, 'index.lock'), { ino: '42' });
      lock.noteGitLock(join(repo.gitdir, 'index.lock'), null);
      expect(() => lock.assertHeld()).toThrow(LockError);
    });
    expect(readFileSync(note, 'utf8')).toBe(after);
  });

  it('where links are not supported the git lock is made in place, and recorded once made', async () => {
    const repo = await tempRepo();
    const target = join(repo.gitdir, 'index');
    const disk = { ...nodeDisk, linkSync: () => { throw Object.assign(new Error('no links here'), { code: 'EPERM' }); } };
    const noted: Array<[string, unknown]> = [];
    const lock = await GitLockFile.acquire(target, { timeoutMs: 500, clock: new FakeClock(), disk, onLock: (path, made) => noted.push([path, made]) });
    const ino = String(statSync(`${target}.lock`, { bigint: true }).ino);
    expect(noted.map(([, made]) => made && (made as { ino: string }).ino)).toEqual([expect.any(String), null, ino]);
    expect(readdirSync(repo.gitdir).filter((n) => /^index(\..+)?\.lock$/.test(n))).toEqual(['index.lock']);
    lock.rollback();
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('a git lock is renamed over its file only while it is still the one this process made', async () => {
    const repo = await tempRepo();
    const target = join(repo.gitdir, 'index');
    const before = readFileSync(target);
    const lock = await GitLockFile.acquire(target, { timeoutMs: 500, clock: new FakeClock() });
    lock.write(Buffer.from('not an index'));
    // taken over while stopped: its lock removed, and another made in its place
    rmSync(`${target}.lock`);
    writeFileSync(`${target}.lock`, 'another holder\'s');
    expect(() => lock.commit()).toThrow(LockError);
    expect(readFileSync(target)).toEqual(before);
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe('another holder\'s');
    lock.rollback();
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe('another holder\'s');
  });

  it('a takeover removes lock folders an earlier taker moved aside and was killed before removing', async () => {
    const repo = await tempRepo();
    const old = join(repo.gitdir, `${LOCK_DIR}.gone-1-abc`);
    const young = join(repo.gitdir, `${LOCK_DIR}.gone-2-def`);
    mkdirSync(old);
    mkdirSync(young);
    utimesSync(old, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    placeLock(repo.gitdir, { pid: deadPid() });
    await withRepoLock(repo.gitdir, { timeoutMs: 1_000, clock: new FakeClock() }, async () => undefined);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true); // its taker may still be at it
  });

  it("waits for native git's index.lock, bounded, then names it (exit 5)", async () => {
    const repo = await tempRepo();
    writeFileSync(join(repo.gitdir, 'index.lock'), '');
    const clock = new FakeClock();
    const start = clock.now();
    const err = await GitLockFile.acquire(join(repo.gitdir, 'index'), { timeoutMs: 2_000, clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as Error).message).toContain(join(repo.gitdir, 'index.lock'));
    expect(clock.elapsedSince(start)).toBeGreaterThanOrEqual(2_000);
  });

  it('first come, first served: a free lock is not taken past an older live waiter; a dead waiter\'s ticket is passed over', async () => {
    const repo = await tempRepo();
    const queue = join(repo.gitdir, 'gitstate-lock-queue');
    mkdirSync(queue);
    const older = `${String(Date.now() - 100).padStart(15, '0')}-1-a`;
    writeFileSync(join(queue, older), JSON.stringify({ pid: process.pid, host: hostname(), boot }));
    const clock = new FakeClock();
    const err = await withRepoLock(repo.gitdir, { timeoutMs: 500, clock }, async () => 'taken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError); // the lock was free all along: the older waiter comes first
    expect(readdirSync(queue)).toEqual([older]); // and our own ticket went with us
    writeFileSync(join(queue, older), JSON.stringify({ pid: deadPid(), host: hostname(), boot }));
    expect(await withRepoLock(repo.gitdir, { timeoutMs: 500, clock }, async () => 'taken')).toBe('taken');
    expect(readdirSync(queue)).toEqual([]);
  });

  it('a waiter is woken by the ticket ahead of it going, then by the lock folder going: its clock never has to move', async () => {
    const repo = await tempRepo();
    const lockDir = placeLock(repo.gitdir, { pid: process.pid });
    const queue = join(repo.gitdir, 'gitstate-lock-queue');
    mkdirSync(queue);
    const ahead = join(queue, `${String(Date.now() - 100).padStart(15, '0')}-1-a`);
    writeFileSync(ahead, JSON.stringify({ pid: process.pid, host: hostname(), boot }));
    const clock = new ManualClock(Date.now());
    const start = clock.now();
    const sleeps = async (n: number) => {
      while (clock.asked.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    const taken = withRepoLock(repo.gitdir, { timeoutMs: 60_000, clock }, async () => 'taken');
    await sleeps(1); // asleep behind the ticket ahead
    rmSync(ahead);
    await sleeps(2); // woken: first now, it finds the folder held and sleeps again
    expect(readdirSync(queue)).toHaveLength(1);
    rmSync(lockDir, { recursive: true });
    expect(await taken).toBe('taken');
    expect(clock.now()).toBe(start);
  });

  it('excludes within a process: operations on one repository run one at a time, in order', async () => {
    const repo = await tempRepo();
    const events: string[] = [];
    await Promise.all(
      [0, 1, 2].map((i) =>
        withRepoLock(repo.gitdir, {}, async () => {
          events.push(`start ${i}`);
          await new Promise((r) => setImmediate(r));
          events.push(`end ${i}`);
        }),
      ),
    );
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(existsSync(join(repo.gitdir, LOCK_DIR))).toBe(false);
  });

  it('a process writing non-stop lets a waiting process in', async () => {
    const repo = await tempRepo();
    const stop = join(repo.gitdir, 'stop-loop');
    const looper = writer(repo.dir, 'loop', 'l', 0, { STOP_FILE: stop });
    try {
      while (!looper.stdout().includes('looping')) {
        if (looper.proc.exitCode !== null) throw new Error(looper.stderr());
        await new Promise((r) => setTimeout(r, 10));
      }
      const r = await cli(['set', 'knowledge', 'waiter', 'in'], { dir: repo.dir, env: { GITSTATE_LOCK_TIMEOUT_MS: '15000' } });
      expect(r.code, r.stderr).toBe(0);
      // the looper kept writing all along (it had not finished when the waiter got in)
      expect(looper.proc.exitCode).toBeNull();
    } finally {
      writeFileSync(stop, '');
    }
    expect(await looper.exited).toBe(0);
    expect(Number(/wrote (\d+)/.exec(looper.stdout())?.[1])).toBeGreaterThan(1);
    expect(await repo.get('knowledge', 'waiter')).toBe('in');
    expect(git(repo.dir, 'log', '--format=%s').split('\n').filter((s) => s === 'set knowledge.yaml waiter')).toHaveLength(1);
    assertRepoHealthy(repo.dir);
  });
});
