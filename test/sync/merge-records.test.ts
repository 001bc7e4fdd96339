/**
 * Merges that decide between two sides and keep what loses: conflict records
 * (a deleted value, a big one, a full record file), files that do not parse on
 * one side, names that differ only in case, the order of strategies, and who
 * history credits for a merged value. Two machines on the test git server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { push, sync } from '../../src/sync/sync.js';
import { History } from '../../src/history/history.js';
import { resolveRev } from '../../src/history/revs.js';
import { useGitServer } from '../helpers/server.js';
import { machinesOn } from '../helpers/machines.js';
import { assertRepoHealthy, CLI, git, headOid } from '../helpers/repo.js';
import { itFull } from '../helpers/tier.js';

const gitServer = useGitServer();
const twoMachines = (name: string) => machinesOn(gitServer(), name);

describe('merges that keep what loses', () => {
  it('a side that deleted the value is recorded as deleted, not as a null it set', async () => {
    const { laptop, desktop } = await twoMachines('deleted');
    await laptop.set('knowledge', 'gone', 'x');
    await laptop.set('knowledge', 'nulled', 'x');
    await sync(laptop);
    await sync(desktop);
    await laptop.delete('knowledge', 'gone');
    await laptop.set('knowledge', 'nulled', null);
    await desktop.set('knowledge', 'gone', 'changed');
    await desktop.set('knowledge', 'nulled', 'changed');
    await sync(laptop);
    const r = await sync(desktop, { strategy: 'ours' });
    const byKey = Object.fromEntries(r.conflicts.map((c) => [c.key, c]));
    expect(byKey.gone!.theirs).toMatchObject({ value: null, deleted: true });
    expect(byKey.nulled!.theirs.value).toBeNull();
    expect(byKey.nulled!.theirs).not.toHaveProperty('deleted');
    const listed = spawnSync(process.execPath, [CLI, '--dir', desktop.dir, 'conflicts'], { encoding: 'utf8' }).stdout;
    expect(listed).toMatch(/knowledge\.yaml gone: kept ours; ours \([^)]*\) "changed", theirs \([^)]*\) deleted it/);
    expect(listed).toMatch(/knowledge\.yaml nulled: kept ours; ours \([^)]*\) "changed", theirs \([^)]*\) null/);
  });

  itFull('a big losing value is named by its commit, and a full record file drops its oldest records: sync is never stopped by it', async () => {
    const { laptop, desktop } = await twoMachines('records');
    // records from earlier merges, filling the file close to the size a state file may have
    const old = Array.from({ length: 230 }, (_, i) => ({ time: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, file: 'knowledge.yaml', key: `old${i}`, strategy: 'newest', kept: 'ours', ours: { value: 'x'.repeat(2000), commit: 'a'.repeat(40), time: '2026-01-01T00:00:00Z' }, theirs: { value: 'y'.repeat(2000), commit: 'b'.repeat(40), time: '2026-01-01T00:00:00Z' } }));
    await desktop.write('.gitstate/conflicts.yaml', stringify({ conflicts: old }, { lineWidth: 0 }));
    await laptop.set('knowledge', 'big', 'L'.repeat(10_000));
    await desktop.set('knowledge', 'big', 'D'.repeat(10_000));
    await sync(laptop);
    const r = await sync(desktop, { strategy: 'ours' });
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0]!.theirs).toMatchObject({ value: { omitted: expect.stringMatching(/^a value of 10000 bytes, too large to keep here; see it in commit [0-9a-f]{40} \(gitstate show [0-9a-f]{12}:knowledge\.yaml\)$/) } });
    const bytes = readFileSync(join(desktop.dir, '.gitstate/conflicts.yaml'));
    expect(bytes.byteLength).toBeLessThan(1024 * 1024 - 64 * 1024 + 1);
    const kept = (parse(bytes.toString('utf8')) as { conflicts: Array<{ key: string }> }).conflicts;
    expect(kept.at(-1)!.key).toBe('big');
    expect(kept[0]!.key).not.toBe('old0'); // the oldest went
    expect(kept.length).toBeLessThan(old.length + 1);
    assertRepoHealthy(desktop.dir);
  });

  itFull("a file that does not parse on their side never stops a sync: ours is kept whole, theirs recorded; one only they changed comes as it is", async () => {
    const { laptop, desktop } = await twoMachines('broken');
    await laptop.set('knowledge', 'a', 1);
    await sync(laptop);
    await sync(desktop);
    // pushed from elsewhere with the hook skipped
    writeFileSync(join(laptop.dir, 'knowledge.yaml'), 'a: [1\n');
    writeFileSync(join(laptop.dir, 'shared_context.yaml'), 'b: [2\n');
    git(laptop.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-am', 'broken');
    await push(laptop);
    await desktop.set('knowledge', 'mine', 2);
    const r = await sync(desktop);
    expect(r.action).toBe('merged');
    expect(r.conflicts).toMatchObject([{ file: 'knowledge.yaml', key: '(whole file: theirs does not parse)', kept: 'ours', theirs: { value: 'a: [1\n' } }]);
    expect(await desktop.get('knowledge')).toMatchObject({ a: 1, mine: 2 });
    expect(readFileSync(join(desktop.dir, 'shared_context.yaml'), 'utf8')).toBe('b: [2\n');
    expect(git(desktop.dir, 'status', '--porcelain')).toBe('');
    await push(desktop);

    // the broken file is now in the history both share: mended by hand on one side, merged again, never stuck
    writeFileSync(join(laptop.dir, 'knowledge.yaml'), 'a: 3\n');
    git(laptop.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-am', 'mended');
    const mended = await sync(laptop);
    expect(mended.action).toBe('merged');
    expect(await laptop.get('knowledge')).toMatchObject({ a: 3, mine: 2 });
    // a broken file of ours gives way to theirs
    writeFileSync(join(desktop.dir, 'knowledge.yaml'), 'x: [\n');
    git(desktop.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--no-verify', '-am', 'broken here');
    await laptop.set('knowledge', 'later', 4);
    await sync(laptop);
    const ours = await sync(desktop);
    expect(ours.conflicts).toMatchObject([{ file: 'knowledge.yaml', key: '(whole file: ours does not parse)', kept: 'theirs' }]);
    expect(await desktop.get('knowledge')).toMatchObject({ a: 3, later: 4 });
  });

  it("a file's rule beats the repository's strategy; --strategy beats both", async () => {
    const { laptop, desktop } = await twoMachines('rules');
    await desktop.write('.gitstate/sync.yaml', 'strategy: ours\nrules:\n  knowledge.yaml: manual\n  environments.yaml: theirs\n');
    await sync(desktop);
    await sync(laptop);
    for (const [machine, value] of [[laptop, 'laptop'], [desktop, 'desktop']] as const) {
      await machine.set('knowledge', 'x', value);
      await machine.set('environments', 'dev', { namespace: value });
      await machine.set('shared_context', 'y', value);
    }
    await sync(laptop);
    await expect(sync(desktop)).rejects.toThrow(/merge of origin\/main left for you: knowledge\.yaml: x/);
    const r = await sync(desktop, { strategy: 'ours' });
    expect(Object.fromEntries(r.conflicts.map((c) => [c.file, c.kept]))).toEqual({ 'knowledge.yaml': 'ours', 'environments.yaml': 'ours', 'shared_context.yaml': 'ours' });
    // without the flag: the rule for environments, the repository's strategy for the rest
    await sync(laptop);
    await sync(desktop);
    await laptop.set('environments', 'dev', { namespace: 'laptop2' });
    await laptop.set('shared_context', 'y', 'laptop2');
    await desktop.set('environments', 'dev', { namespace: 'desktop2' });
    await desktop.set('shared_context', 'y', 'desktop2');
    await sync(laptop);
    const again = await sync(desktop);
    expect(Object.fromEntries(again.conflicts.map((c) => [c.file, c.kept]))).toEqual({ 'environments.yaml': 'theirs', 'shared_context.yaml': 'ours' });
  });

  it('blame and log --key credit the commit that wrote a value, not the merge that brought it', async () => {
    const { laptop, desktop } = await twoMachines('blame');
    await laptop.set('knowledge', 'from_laptop', 'l');
    const written = headOid(laptop.dir);
    await sync(laptop);
    await desktop.set('knowledge', 'from_desktop', 'd');
    const merged = await sync(desktop);
    expect(merged.action).toBe('merged');
    const history = new History(desktop);
    expect((await history.blame('knowledge', 'from_laptop')).commit).toBe(written);
    expect((await history.log({ file: 'knowledge', key: 'from_laptop' })).map((e) => e.commit)).toEqual([written]);
    expect((await history.blame('knowledge', 'from_desktop')).commit).not.toBe(merged.head);
    // a merge's parents by number, as git names them
    const store = await desktop.store();
    expect(await resolveRev(store, 'HEAD^2')).toBe(written);
    expect(await resolveRev(store, 'HEAD^1')).toBe(await resolveRev(store, 'HEAD~1'));
    expect(await resolveRev(store, 'HEAD^0')).toBe(merged.head);
    await expect(resolveRev(store, 'HEAD^3')).rejects.toThrow(/revision HEAD\^3 names a parent [0-9a-f]{12} does not have/);
  });

  it('a file made on each machine under names that differ only in case: the merge keeps ours, theirs goes into a record', async () => {
    const { laptop, desktop } = await twoMachines('case');
    await laptop.set('notes/Case', 'from', 'laptop');
    await sync(laptop);
    await desktop.set('notes/case', 'from', 'desktop');
    const r = await sync(desktop);
    expect(r.action).toBe('merged');
    expect(git(desktop.dir, 'ls-tree', '-r', '--name-only', 'HEAD', 'notes/').trim()).toBe('notes/case.yaml');
    expect(r.conflicts).toMatchObject([{ file: 'notes/Case.yaml', key: '(whole file: its name differs from notes/case.yaml only in case)', kept: 'ours', theirs: { value: 'from: laptop\n' } }]);
    assertRepoHealthy(desktop.dir);
  });
});
