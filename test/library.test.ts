/** The library as a user imports it (src/index.ts): write, read, history, undo, hand edits, sync status. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitHandEdits, History, listHandEdits, NotFoundError, StateRepo, syncStatus } from '../src/index.js';
import { cleanupTempDirs, tempDir } from './helpers/repo.js';

afterAll(cleanupTempDirs);

describe('the library entry point', () => {
  it('covers a write, its history, an undo and a hand edit', async () => {
    const repo = await StateRepo.init(join(await tempDir(), 'state'));
    const { commit } = await repo.set('knowledge', 'db.host', 'db1.internal');
    expect(await repo.get('knowledge', 'db.host')).toBe('db1.internal');
    const history = new History(repo);
    expect((await history.log({ file: 'knowledge' }))[0]!.commit).toBe(commit);
    await history.undo();
    await expect(repo.get('knowledge', 'db.host')).rejects.toBeInstanceOf(NotFoundError);
    writeFileSync(join(repo.dir, 'shared_context.yaml'), 'team: platform\n');
    expect((await listHandEdits(repo)).map((e) => e.path)).toEqual(['shared_context.yaml']);
    await commitHandEdits(repo, { message: 'by hand' });
    expect(await listHandEdits(repo)).toEqual([]);
    expect(await syncStatus(repo)).toMatchObject({ remote: null, ahead: 0, behind: 0 });
  });
});
