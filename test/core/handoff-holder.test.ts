/**
 * The holder's side of a handoff (core/writer.ts), in one process: while a
 * write of this process holds the lock (inside its transaction), an offer is
 * put in the lock queue by hand, as a queued process would leave it; the
 * group takes it once the write is prepared.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OFFER_VERSION, type Offer } from '../../src/core/handoff.js';
import { LockQueue, processHere } from '../../src/core/lock-queue.js';
import type { TxOp } from '../../src/core/transaction.js';
import { StateRepo } from '../../src/core/repo.js';
import { nodeDisk, type Disk } from '../../src/git/disk.js';
import { assertRepoHealthy, cleanupTempDirs, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const author = { name: 'Waiter', email: 'w@example.org' };
const offer = (ops: TxOp[], single = true): Offer => ({ v: OFFER_VERSION, ops, single, message: {}, author, host: 'host-w', timezoneOffset: 0 });

/** A ticket offering `offers`, as a queued process of this host (this one: alive) leaves it. */
function queue(gitdir: string, offers: unknown[]): string {
  return new LockQueue(gitdir, () => false, 60_000).join(Date.now(), processHere(), offers);
}

/** This process's write of `own`, holding the lock while a queued process offers `offers`; the ticket's name. */
async function writeWithOffer(repo: StateRepo, offers: unknown[]): Promise<string> {
  let ticket = '';
  await repo.transaction(async (tx) => {
    ticket ||= queue(repo.gitdir, offers);
    await tx.set('knowledge', 'own', 0);
  });
  return ticket;
}

const handoff = (gitdir: string) => (existsSync(join(gitdir, 'gitstate-handoff')) ? readdirSync(join(gitdir, 'gitstate-handoff')) : []);

describe("the holder's side", () => {
  it("makes a ticket's writes in order; one it must hand back goes back with every later one, unmade", async () => {
    const repo = await tempRepo();
    const ticket = await writeWithOffer(repo, [
      offer([{ op: 'set', file: 'knowledge', key: 'w1', value: 1 }]),
      // a batch (not single) that fails: handed back, to name its line in its own process
      offer([{ op: 'set', file: 'knowledge', key: 'w2', value: 2 }, { op: 'delete', file: 'knowledge', key: 'missing' }], false),
      offer([{ op: 'set', file: 'knowledge', key: 'w3', value: 3 }]),
    ]);
    const results = JSON.parse(readFileSync(join(repo.gitdir, 'gitstate-handoff', `${ticket}.done`), 'utf8')) as unknown[];
    expect(results).toEqual([expect.objectContaining({ changed: true }), null, null]);
    expect(await repo.get('knowledge')).toEqual({ own: 0, w1: 1 });
    expect(git(repo.dir, 'log', '-1', '--format=%an %s').trim()).toBe('Waiter set knowledge.yaml w1');
    expect(git(repo.dir, 'log', '-1', '--format=%B')).toContain('Gitstate-Host: host-w');
    expect(existsSync(join(repo.gitdir, 'gitstate-lock-queue', ticket))).toBe(false);
  });

  it('takes the offers queued before the first waiter that offers none, and leaves those behind it to that waiter, who holds the lock next', async () => {
    const repo = await tempRepo();
    let tickets: string[] = [];
    await repo.transaction(async (tx) => {
      if (tickets.length === 0) {
        const lockQueue = new LockQueue(repo.gitdir, () => false, 60_000);
        tickets = [
          lockQueue.join(Date.now(), processHere(), [offer([{ op: 'set', file: 'knowledge', key: 'before', value: 1 }])]),
          lockQueue.join(Date.now() + 1, processHere()),
          lockQueue.join(Date.now() + 2, processHere(), [offer([{ op: 'set', file: 'knowledge', key: 'behind', value: 1 }])]),
        ];
      }
      await tx.set('knowledge', 'own', 0);
    });
    expect(await repo.get('knowledge')).toEqual({ own: 0, before: 1 });
    expect(readdirSync(join(repo.gitdir, 'gitstate-lock-queue')).sort()).toEqual(tickets.slice(1).sort());
    expect(handoff(repo.gitdir).sort()).toEqual([tickets[0], `${tickets[0]}.done`]);
  });

  it("a single operation's input error goes back as a record, and the ticket's later writes are made", async () => {
    const repo = await tempRepo();
    const ticket = await writeWithOffer(repo, [offer([{ op: 'delete', file: 'knowledge', key: 'missing' }]), offer([{ op: 'set', file: 'knowledge', key: 'after', value: 1 }])]);
    const results = JSON.parse(readFileSync(join(repo.gitdir, 'gitstate-handoff', `${ticket}.done`), 'utf8')) as unknown[];
    expect(results).toEqual([{ error: expect.objectContaining({ code: 'NOT_FOUND' }) }, expect.objectContaining({ changed: true })]);
    expect(await repo.get('knowledge')).toEqual({ own: 0, after: 1 });
  });

  it('a publication that fails after the ref moved leaves the staged results for the waiter to settle: it keeps them, nothing made twice', async () => {
    const template = await tempRepo();
    let failing = true;
    // the folder sync after the ref moved fails once: the group is in the branch, and its holder reports a failure
    const disk: Disk = { ...nodeDisk, syncDir: async (path) => (failing && path.endsWith(join('refs', 'heads')) ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : nodeDisk.syncDir(path)) };
    const repo = await StateRepo.open(template.dir, { disk });
    const ticket = await writeWithOffer(repo, [offer([{ op: 'append', file: 'knowledge', key: 'log', value: 'once' }])]).catch(() => undefined);
    failing = false;
    const [name] = readdirSync(join(repo.gitdir, 'gitstate-lock-queue'));
    expect(ticket).toBeUndefined(); // the holder's own write reported the failure
    expect(handoff(repo.gitdir).sort()).toEqual([name, `${name}.staged`]);
    // the waiter, holding the lock in its turn, finds its append in the branch and keeps it
    const staged = JSON.parse(readFileSync(join(repo.gitdir, 'gitstate-handoff', `${name}.staged`), 'utf8')) as Array<{ commit: string }>;
    expect(git(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(staged[0]!.commit);
    expect(await repo.get('knowledge', 'log')).toEqual(['once']);
  });

  it.each([
    ['an operation it does not know', [{ v: OFFER_VERSION, ops: [{ op: 'frobnicate', file: 'knowledge' }], single: true, message: {}, author, host: 'h', timezoneOffset: 0 }]],
    ['another format', [{ ...offer([{ op: 'set', file: 'knowledge', key: 'k', value: 1 }]), v: 2 }]],
    ['an offer without its author', [{ ...offer([{ op: 'set', file: 'knowledge', key: 'k', value: 1 }]), author: undefined }]],
  ])('leaves %s to its waiter: no claim, the ticket stays, nothing made of it', async (_name, offers) => {
    const repo = await tempRepo();
    const ticket = await writeWithOffer(repo, offers);
    expect(await repo.get('knowledge')).toEqual({ own: 0 });
    expect(handoff(repo.gitdir)).toEqual([]);
    expect(existsSync(join(repo.gitdir, 'gitstate-lock-queue', ticket))).toBe(true);
    rmSync(join(repo.gitdir, 'gitstate-lock-queue', ticket));
    assertRepoHealthy(repo.dir);
  });
});
