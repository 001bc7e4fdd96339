/**
 * Writes handed to the lock's holder (core/handoff.ts): a process that queues
 * for the lock offers its write, and the process that holds the lock next makes
 * it in its own group. Here the test holds the lock while two real writer
 * processes queue behind it, H first and T second; once it lets go, H takes the
 * lock and makes T's write beside its own. T's write must be exactly what T
 * would have made (author, time zone, host, data), made once, whatever happens
 * to H.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StateRepo } from '../../src/core/repo.js';
import { claimOffer, markDone, stageResults } from '../../src/core/handoff.js';
import { processHere } from '../../src/core/lock-queue.js';
import { assertRepoHealthy, cleanupTempDirs, git, ROOT, tempRepo } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const CHILD = join(ROOT, 'test/helpers/handoff-child.mjs');
const QUEUE = 'gitstate-lock-queue';

type Line = { result?: { commit: string; changed: boolean; files: string[] }; error?: { name: string; code: string; message: string }; memory?: unknown; exit?: number; stdout?: string; stderr?: string };

function child(dir: string, ops: object[], env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, [CHILD, dir, JSON.stringify(ops)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, exited, lines: () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line), stderr: () => stderr };
}

/** Resolves once child `c` is stopped (it sent itself SIGSTOP at a crash point); fails if it ended first. */
async function stopped(c: ReturnType<typeof child>): Promise<void> {
  let ended = false;
  void c.exited.then(() => (ended = true));
  for (;;) {
    if (ended) throw new Error(`the process ended before it stopped: ${c.stderr()}${JSON.stringify(c.lines())}`);
    let state = '';
    try {
      state = readFileSync(`/proc/${c.proc.pid}/stat`, 'utf8').split(') ')[1]![0]!;
    } catch {
      // reaped meanwhile: ended
    }
    if (state === 'T') return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handoffFiles = (dir: string) => (existsSync(join(dir, '.git/gitstate-handoff')) ? readdirSync(join(dir, '.git/gitstate-handoff')) : []);

/** Resolves once the lock queue holds `n` tickets (the children queue behind the lock the test holds). */
async function queued(dir: string, n: number): Promise<string[]> {
  for (;;) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, '.git', QUEUE)).sort();
    } catch {
      // not made yet
    }
    if (names.length >= n) return names;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Hold the repository lock until `release` is called. */
async function holdLock(repo: StateRepo): Promise<{ release: () => void; done: Promise<void> }> {
  let release!: () => void;
  let holding!: () => void;
  const held = new Promise<void>((r) => (holding = r));
  const done = repo.locked(async () => {
    holding();
    await new Promise<void>((r) => (release = r));
  });
  await held;
  return { release: () => release(), done };
}

const H = { GITSTATE_AUTHOR_NAME: 'Holder', GITSTATE_AUTHOR_EMAIL: 'h@example.org', GITSTATE_HOST: 'host-h', TZ: 'UTC' };
const T = { GITSTATE_AUTHOR_NAME: 'Taker', GITSTATE_AUTHOR_EMAIL: 't@example.org', GITSTATE_HOST: 'host-t', TZ: 'Asia/Kolkata' };

/** H, then T, queue behind the test's lock; then it lets go. */
function start(repo: StateRepo, hOps: object[], tOps: object[], hEnv: NodeJS.ProcessEnv = {}, tEnv: NodeJS.ProcessEnv = {}) {
  return (async () => {
    const lock = await holdLock(repo);
    const h = child(repo.dir, hOps, { ...H, ...hEnv });
    await queued(repo.dir, 1);
    const t = child(repo.dir, tOps, { ...T, ...tEnv });
    await queued(repo.dir, 2);
    lock.release();
    await lock.done;
    return { h, t };
  })();
}

async function handOff(repo: StateRepo, hOps: object[], tOps: object[], hEnv: NodeJS.ProcessEnv = {}) {
  const { h, t } = await start(repo, hOps, tOps, hEnv);
  const codes = await Promise.all([h.exited, t.exited]);
  return { h, t, codes };
}

/** The pack (by its .idx name) that holds `oid`, 'loose', or 'missing'. */
function whereIs(dir: string, oid: string): string {
  if (existsSync(join(dir, '.git/objects', oid.slice(0, 2), oid.slice(2)))) return 'loose';
  const packs = join(dir, '.git/objects/pack');
  return readdirSync(packs).find((idx) => idx.endsWith('.idx') && git(dir, 'verify-pack', '-v', join(packs, idx)).includes(oid)) ?? 'missing';
}

describe('a queued process hands its write to the lock holder', () => {
  it("the holder makes it in its own group, as the writer's own commit: author, time zone, host; one publication for both", async () => {
    const repo = await tempRepo();
    const { h, t, codes } = await handOff(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 'from H' }], [{ op: 'append', file: 'knowledge', key: 'log', value: { by: 'T', n: 1 } }]);
    expect(codes, h.stderr() + t.stderr()).toEqual([0, 0]);
    const [hLine] = h.lines();
    const [tLine] = t.lines();
    expect(hLine!.result!.changed).toBe(true);
    expect(tLine!.result).toMatchObject({ changed: true, files: ['knowledge.yaml'] });
    // H made its own write, then T's on top of it, and published both at once: one pack
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(tLine!.result!.commit);
    expect(git(repo.dir, 'rev-parse', 'HEAD^').trim()).toBe(hLine!.result!.commit);
    const pack = whereIs(repo.dir, tLine!.result!.commit);
    expect(pack).toMatch(/\.idx$/);
    expect(whereIs(repo.dir, hLine!.result!.commit)).toBe(pack);
    // T's commit is T's: its author, its time zone (+0530), its host; H's is H's
    const tCommit = git(repo.dir, 'cat-file', 'commit', tLine!.result!.commit);
    expect(tCommit).toMatch(/^author Taker <t@example\.org> \d+ \+0530$/m);
    expect(tCommit).toMatch(/^committer Taker <t@example\.org> \d+ \+0530$/m);
    expect(tCommit).toContain('Gitstate-Host: host-t');
    expect(tCommit).toContain('append knowledge.yaml log');
    expect(git(repo.dir, 'cat-file', 'commit', hLine!.result!.commit)).toMatch(/^author Holder <h@example\.org> \d+ \+0000$/m);
    expect(parse(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8'))).toMatchObject({ h: 'from H', log: [{ by: 'T', n: 1 }] });
    // nothing left behind: no ticket, no offer file
    expect(readdirSync(join(repo.dir, '.git', QUEUE))).toEqual([]);
    expect(readdirSync(join(repo.dir, '.git/gitstate-handoff'))).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  it('an input error the holder meets comes back as the error the writer would have met, nothing committed for it', async () => {
    const repo = await tempRepo();
    const local = await repo.delete('knowledge', 'missing').catch((err: Error & { code: string }) => ({ name: err.name, code: err.code, message: err.message }));
    const before = git(repo.dir, 'rev-parse', 'HEAD').trim();
    const { h, t, codes } = await handOff(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'delete', file: 'knowledge', key: 'missing' }]);
    expect(codes).toEqual([0, 0]);
    expect(t.lines()[0]!.error).toEqual(local);
    expect(git(repo.dir, 'rev-list', '--count', `${before}..HEAD`).trim()).toBe('1');
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(h.lines()[0]!.result!.commit);
    // H's commit went into a pack: its group had two writes, its own and T's (which failed there)
    expect(whereIs(repo.dir, h.lines()[0]!.result!.commit)).toMatch(/\.idx$/);
    assertRepoHealthy(repo.dir);
  });

  itFull('a batch that fails there is handed back: made in its own process, which names the line that failed', async () => {
    const repo = await tempRepo();
    const lines = [
      { op: 'set', file: 'knowledge', key: 'a', value: 1 },
      { op: 'delete', file: 'knowledge', key: 'missing' },
      { op: 'set', file: 'knowledge', key: 'b', value: 2 },
    ];
    const before = git(repo.dir, 'rev-parse', 'HEAD').trim();
    const { h, t, codes } = await handOff(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'cli', args: ['batch', '--atomic'], stdin: lines.map((l) => JSON.stringify(l)).join('\n') }]);
    expect(codes).toEqual([0, 0]);
    expect(t.lines()[0]).toMatchObject({ exit: 3 });
    expect(t.lines()[0]!.stderr).toMatch(/^gitstate: batch line 2: /);
    // H's group took T's batch (its commit is in a pack), and handed it back
    expect(whereIs(repo.dir, h.lines()[0]!.result!.commit)).toMatch(/\.idx$/);
    expect(git(repo.dir, 'rev-list', '--count', `${before}..HEAD`).trim()).toBe('1');
    expect(await repo.get('knowledge')).toEqual({ h: 1 });
  });

  itFull("a caller's transaction is never handed over: one that reads outside it (repo.get) under the lock counts right", async () => {
    const repo = await tempRepo();
    const writers = Array.from({ length: 4 }, () => child(repo.dir, Array.from({ length: 5 }, () => ({ op: 'incr', file: 'knowledge', key: 'count' })), T));
    expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    expect(await repo.get('knowledge', 'count')).toBe(20);
    assertRepoHealthy(repo.dir);
  });

  itFull("a StateManager flush is made by the holder too; the manager's memory is what was committed", async () => {
    const repo = await tempRepo();
    await repo.write('state.json', '{\n  "kept": 1\n}\n');
    const { h, t, codes } = await handOff(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'state', key: 'procs.t', value: { n: 2 } }]);
    expect(codes, t.stderr()).toEqual([0, 0]);
    const line = t.lines()[0]!;
    expect(line.memory).toEqual({ kept: 1, procs: { t: { n: 2 } } });
    expect(readFileSync(join(repo.dir, 'state.json'), 'utf8')).toBe('{\n  "kept": 1,\n  "procs": {\n    "t": {\n      "n": 2\n    }\n  }\n}\n');
    // one pack for H's group: H's write and T's flush
    expect(whereIs(repo.dir, line.result!.commit)).toMatch(/\.idx$/);
    expect(whereIs(repo.dir, line.result!.commit)).toBe(whereIs(repo.dir, h.lines()[0]!.result!.commit));
    expect(git(repo.dir, 'log', '-1', '--format=%an %s', line.result!.commit).trim()).toBe('Taker flush state.json: procs.t');
    assertRepoHealthy(repo.dir);
  });
});

describe('the holder dies with a write it took', () => {
  for (const [point, published] of [['renamed', false], ['published', true]] as const) {
    (published ? it : itFull)(`killed at "${point}": the writer ${published ? 'gets the commit the holder published, and makes no second one' : 'makes its write itself'}`, async () => {
      const repo = await tempRepo();
      const before = git(repo.dir, 'rev-parse', 'HEAD').trim();
      const { h, t, codes } = await handOff(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'append', file: 'knowledge', key: 'log', value: 'once' }], { GITSTATE_CRASH_AT: point });
      expect(codes[0], 'H was killed').toBeNull();
      expect(h.lines()).toEqual([]);
      expect(codes[1], t.stderr()).toBe(0);
      const result = t.lines()[0]!.result!;
      expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(result.commit);
      const data = parse(readFileSync(join(repo.dir, 'knowledge.yaml'), 'utf8')) as { h?: number; log: string[] };
      expect(data.log).toEqual(['once']);
      expect(data.h).toBe(published ? 1 : undefined);
      // T's write is the commit H staged for it (H's own below it), or one T made itself on the old HEAD
      expect(git(repo.dir, 'log', '-1', '--format=%an', 'HEAD').trim()).toBe('Taker');
      if (published) {
        expect(git(repo.dir, 'log', '-1', '--format=%an', 'HEAD^').trim()).toBe('Holder');
        expect(git(repo.dir, 'rev-parse', 'HEAD^^').trim()).toBe(before);
      } else {
        expect(git(repo.dir, 'rev-parse', 'HEAD^').trim()).toBe(before);
      }
      expect(readdirSync(join(repo.dir, '.git/gitstate-handoff'))).toEqual([]);
      assertRepoHealthy(repo.dir);
    });
  }

  itFull('the writer settles what the dead holder published before anything of its own can fail: HEAD detached meanwhile, its write is still reported made', async () => {
    const repo = await tempRepo();
    const { h, t } = await start(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'append', file: 'knowledge', key: 'log', value: 'once' }], { GITSTATE_CRASH_AT: 'published', GITSTATE_CRASH_SIGNAL: 'SIGSTOP' });
    await stopped(h);
    const published = git(repo.dir, 'rev-parse', 'HEAD').trim();
    git(repo.dir, 'checkout', '-q', '--detach');
    h.proc.kill('SIGKILL');
    expect(await t.exited, t.stderr()).toBe(0);
    // its append was in the branch: reported made, with that commit, though a write would now be refused
    expect(t.lines()[0]!.result!.commit).toBe(published);
    expect(git(repo.dir, 'log', '-1', '--format=%an', published).trim()).toBe('Taker');
    git(repo.dir, 'checkout', '-q', 'main');
    expect(await repo.get('knowledge', 'log')).toEqual(['once']);
    expect(readdirSync(join(repo.dir, '.git/gitstate-handoff'))).toEqual([]);
  });
});

describe('a holder that stalls, or a waiter that dies', () => {
  itFull('a holder claims offers only once its own writes are prepared: a waiter behind a slow transaction still times out (exit 5), its write never made', async () => {
    const repo = await tempRepo();
    const h = child(repo.dir, [{ op: 'slow', ms: 1500, file: 'knowledge', key: 'h', value: 1 }], H);
    while (!existsSync(join(repo.dir, '.git/gitstate.lock'))) await new Promise((r) => setTimeout(r, 10));
    const t = child(repo.dir, [{ op: 'set', file: 'knowledge', key: 't', value: 1 }], { ...T, GITSTATE_LOCK_TIMEOUT_MS: '300' });
    expect(await t.exited).toBe(0);
    expect(t.lines()[0]!.error!.code).toBe('LOCK_TIMEOUT');
    expect(await h.exited).toBe(0);
    expect(h.lines()[0]!.result!.changed).toBe(true);
    expect(await repo.get('knowledge')).not.toHaveProperty('t');
    expect(handoffFiles(repo.dir)).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  itFull('a holder frozen past the stale time after its fsyncs (SIGSTOP): the waiter takes over and makes its write; the holder, thawed, touches nothing (exit 5)', async () => {
    const repo = await tempRepo();
    // long enough that a loaded machine never takes the lock from a holder that is still running
    const stale = { GITSTATE_LOCK_STALE_MS: '3000' };
    const { h, t } = await start(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'append', file: 'knowledge', key: 'log', value: 'once' }], { ...stale, GITSTATE_CRASH_AT: 'synced', GITSTATE_CRASH_SIGNAL: 'SIGSTOP' }, stale);
    await stopped(h);
    expect(await t.exited, t.stderr()).toBe(0);
    const made = t.lines()[0]!.result!;
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(made.commit);
    h.proc.kill('SIGCONT');
    expect(await h.exited).toBe(0);
    expect(h.lines()[0]!.error!.code).toBe('LOCK_TIMEOUT');
    // the thawed holder placed nothing: no second append, its own value absent, the tree clean
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(made.commit);
    expect(await repo.get('knowledge')).toEqual({ log: ['once'] });
    assertRepoHealthy(repo.dir);
    await repo.set('knowledge', 'after', 1);
    expect(handoffFiles(repo.dir)).toEqual([]);
  });

  itFull("a waiter killed once the holder claimed its offer: its write is dropped, the holder's own lands, nothing of it is left", async () => {
    const repo = await tempRepo();
    const { h, t } = await start(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'set', file: 'knowledge', key: 't', value: 1 }], { GITSTATE_CRASH_AT: 'offers-taken', GITSTATE_CRASH_SIGNAL: 'SIGSTOP' });
    await stopped(h);
    expect(handoffFiles(repo.dir)).toHaveLength(1); // H's claim on T's offer
    t.proc.kill('SIGKILL');
    await t.exited;
    h.proc.kill('SIGCONT');
    expect(await h.exited).toBe(0);
    expect(h.lines()[0]!.result!.changed).toBe(true);
    expect(await repo.get('knowledge')).toEqual({ h: 1 });
    expect(readdirSync(join(repo.dir, '.git', QUEUE))).toEqual([]);
    expect(handoffFiles(repo.dir)).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  itFull('what a holder and its waiter both killed leave in .git/gitstate-handoff is swept by the next write', async () => {
    const repo = await tempRepo();
    const { h, t } = await start(repo, [{ op: 'set', file: 'knowledge', key: 'h', value: 1 }], [{ op: 'set', file: 'knowledge', key: 't', value: 1 }], { GITSTATE_CRASH_AT: 'offers-taken', GITSTATE_CRASH_SIGNAL: 'SIGSTOP' });
    await stopped(h);
    t.proc.kill('SIGKILL');
    h.proc.kill('SIGKILL');
    await Promise.all([h.exited, t.exited]);
    expect(handoffFiles(repo.dir)).toHaveLength(1);
    await repo.set('knowledge', 'after', 1);
    expect(handoffFiles(repo.dir)).toEqual([]);
    expect(readdirSync(join(repo.dir, '.git', QUEUE))).toEqual([]);
    assertRepoHealthy(repo.dir);
  });
});

describe('a writer that gives up waiting', () => {
  itFull('withdraws its offer: LOCK_TIMEOUT, and no later holder makes its write', async () => {
    const repo = await tempRepo();
    const lock = await holdLock(repo);
    const t = child(repo.dir, [{ op: 'set', file: 'knowledge', key: 'late', value: 1 }], { ...T, GITSTATE_LOCK_TIMEOUT_MS: '300' });
    expect(await t.exited).toBe(0);
    expect(t.lines()[0]!.error!.code).toBe('LOCK_TIMEOUT');
    lock.release();
    await lock.done;
    await repo.set('knowledge', 'after', 1);
    expect(await repo.get('knowledge')).not.toHaveProperty('late');
    expect(readdirSync(join(repo.dir, '.git', QUEUE))).toEqual([]);
    expect(handoffFiles(repo.dir)).toEqual([]);
    assertRepoHealthy(repo.dir);
  });

  itFull("keeps waiting past its deadline once a holder claimed its offer, and takes the holder's result", async () => {
    const repo = await tempRepo();
    const lock = await holdLock(repo);
    const t = child(repo.dir, [{ op: 'set', file: 'knowledge', key: 'late', value: 1 }], { ...T, GITSTATE_LOCK_TIMEOUT_MS: '300' });
    const [ticket] = await queued(repo.dir, 1);
    // the test plays the holder: it claims the offer, lets the deadline pass, then says the write is done
    expect(claimOffer(repo.gitdir, ticket!, { state: 'claimed', by: processHere() })).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    const result = { commit: git(repo.dir, 'rev-parse', 'HEAD').trim(), changed: true, files: ['knowledge.yaml'] };
    stageResults(repo.gitdir, ticket!, [result]);
    markDone(repo.gitdir, ticket!);
    rmSync(join(repo.dir, '.git', QUEUE, ticket!));
    expect(await t.exited).toBe(0);
    expect(t.lines()).toEqual([{ result }]);
    lock.release();
    await lock.done;
    expect(readdirSync(join(repo.dir, '.git/gitstate-handoff'))).toEqual([]);
  });
});
