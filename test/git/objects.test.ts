/**
 * The loose objects the write path encodes itself are byte-identical to what
 * native git makes for the same content, tree, author and time; and
 * isomorphic-git (pinned) reads them back as written. An upgrade of either
 * that changed a byte fails here.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { blobOid, commitContent, encodeObject, treeContent, type TreeEntry } from '../../src/git/objects.js';
import { GitStore } from '../../src/git/store.js';
import { commitTree, parseTree, readLoose } from '../../src/git/loose.js';
import { cleanupTempDirs, git, tempDir } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

function nativeHash(dir: string, type: string, content: Buffer): string {
  return execFileSync('git', ['hash-object', '-t', type, '-w', '--stdin'], { cwd: dir, input: content, encoding: 'utf8' }).trim();
}

describe('loose objects', () => {
  it('blob, tree and commit ids and bytes equal native git\'s', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const blob = Buffer.from('a: 1\nb: "x"\n');
    const encoded = encodeObject('blob', blob);
    expect(encoded.oid).toBe(nativeHash(dir, 'blob', blob));
    expect(blobOid(blob)).toBe(encoded.oid);
    // git stores the same bytes once inflated (deflate output may differ, the object may not)
    const stored = readFileSync(join(dir, '.git/objects', encoded.oid.slice(0, 2), encoded.oid.slice(2)));
    expect(inflateSync(encoded.deflated)).toEqual(inflateSync(stored));

    // A tree with names that sort differently as files and as folders (git sorts a tree as "name/").
    const entries: TreeEntry[] = [
      { mode: '100644', path: 'a.yaml', oid: encoded.oid, type: 'blob' },
      { mode: '040000', path: 'a', oid: nativeHash(dir, 'tree', Buffer.alloc(0)), type: 'tree' },
      { mode: '100644', path: 'a-b', oid: encoded.oid, type: 'blob' },
      { mode: '100755', path: 'run', oid: encoded.oid, type: 'blob' },
    ];
    const mktree = entries.map((e) => `${e.mode.replace(/^0/, '')} ${e.type} ${e.oid}\t${e.path}`).join('\n');
    const nativeTree = execFileSync('git', ['mktree'], { cwd: dir, input: `${mktree}\n`, encoding: 'utf8' }).trim();
    const tree = encodeObject('tree', treeContent(entries));
    expect(tree.oid).toBe(nativeTree);

    const env = { ...process.env, GIT_AUTHOR_NAME: 'Ann Example', GIT_AUTHOR_EMAIL: 'ann@example.org', GIT_AUTHOR_DATE: '1764669600 +0100', GIT_COMMITTER_NAME: 'Ann Example', GIT_COMMITTER_EMAIL: 'ann@example.org', GIT_COMMITTER_DATE: '1764669600 +0100' };
    const message = 'set knowledge.yaml a\n\nGitstate-Op: set\nGitstate-File: knowledge.yaml\n';
    const nativeRoot = execFileSync('git', ['commit-tree', nativeTree], { cwd: dir, input: message, env, encoding: 'utf8' }).trim();
    const nativeOther = execFileSync('git', ['commit-tree', nativeTree], { cwd: dir, input: 'other\n', env, encoding: 'utf8' }).trim();
    const nativeChild = execFileSync('git', ['commit-tree', nativeTree, '-p', nativeRoot, '-p', nativeOther], { cwd: dir, input: message, env, encoding: 'utf8' }).trim();
    const person = { name: 'Ann Example', email: 'ann@example.org', timestamp: 1764669600, timezoneOffset: -60 };
    const root = encodeObject('commit', commitContent({ tree: tree.oid, parents: [], author: person, committer: person, message }));
    const child = encodeObject('commit', commitContent({ tree: tree.oid, parents: [root.oid, nativeOther], author: person, committer: person, message }));
    expect(root.oid).toBe(nativeRoot);
    expect(child.oid).toBe(nativeChild);
    // west of UTC
    const west = { ...person, timezoneOffset: 330 };
    const nativeWest = execFileSync('git', ['commit-tree', nativeTree], { cwd: dir, input: message, env: { ...env, GIT_AUTHOR_DATE: '1764669600 -0530', GIT_COMMITTER_DATE: '1764669600 -0530' }, encoding: 'utf8' }).trim();
    expect(commitContent({ tree: tree.oid, parents: [], author: west, committer: west, message }).toString()).toBe(git(dir, 'cat-file', 'commit', nativeWest));
  });

  it('isomorphic-git reads back what a gitstate write made, field for field', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'root');
    const store = new GitStore(dir);
    const stage = await store.begin();
    const author = { name: 'Bo', email: 'bo@example.org' };
    const oid = await stage.commit({ changes: [{ path: 'notes/a.yaml', content: Buffer.from('x: 1\n') }], message: 'write notes/a.yaml\n', author, time: 1764669600_000 });
    await stage.publish({ lockTimeoutMs: 1000 });
    const fresh = new GitStore(dir);
    const commit = await fresh.readCommit(oid);
    expect(commit.message).toBe('write notes/a.yaml\n');
    expect(commit.author).toMatchObject({ name: 'Bo', email: 'bo@example.org', timestamp: 1764669600 });
    expect(commit.parents).toEqual([git(dir, 'rev-parse', 'HEAD~1').trim()]);
    expect(Buffer.from(await fresh.readBlob((await fresh.blobOidAt(oid, 'notes/a.yaml'))!)).toString()).toBe('x: 1\n');
    expect(git(dir, 'cat-file', '-p', `${oid}:notes/a.yaml`)).toBe('x: 1\n');
    git(dir, 'fsck', '--strict', '--no-progress');
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});

describe('publishing a stage', () => {
  it('an object native git wrote meanwhile is not renamed over, and its temp file goes', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'root');
    const store = new GitStore(dir);
    const stage = await store.begin();
    const content = Buffer.from('made: twice\n');
    await stage.commit({ changes: [{ path: 'a.yaml', content }], message: 'write a.yaml\n', author: { name: 'Bo', email: 'bo@example.org' } });
    const blob = nativeHash(dir, 'blob', content);
    const before = readFileSync(join(dir, '.git/objects', blob.slice(0, 2), blob.slice(2)));
    await stage.publish({ lockTimeoutMs: 1000 });
    expect(readFileSync(join(dir, '.git/objects', blob.slice(0, 2), blob.slice(2)))).toEqual(before);
    expect(readdirSync(join(dir, '.git/gitstate-tmp'))).toEqual([]);
    expect(git(dir, 'show', 'HEAD:a.yaml')).toBe('made: twice\n');
    git(dir, 'fsck', '--strict', '--no-progress');
  });
});

describe('reading loose objects without isomorphic-git', () => {
  it('gives the same trees, commit trees and blobs as isomorphic-git and native git', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
    mkdirSync(join(dir, 'sub dir'));
    writeFileSync(join(dir, 'sub dir', 'ü.yaml'), 'u: 2\n');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'native');
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}').trim();
    const loose = readLoose(join(dir, '.git'), head)!;
    expect(loose.type).toBe('commit');
    expect(commitTree(loose.content)).toBe(tree);
    const entries = parseTree(readLoose(join(dir, '.git'), tree)!.content);
    const native = git(dir, 'ls-tree', '-z', 'HEAD').split('\0').filter(Boolean).map((line) => {
      const [meta, path] = line.split('\t');
      const [mode, type, oid] = meta!.split(' ');
      return { mode: mode!.padStart(6, '0'), path: path!, oid: oid!, type: type! };
    });
    expect(entries).toEqual(native);
    // once packed, the same answers come from isomorphic-git
    git(dir, 'gc', '-q');
    expect(readLoose(join(dir, '.git'), tree)).toBeNull();
    const store = new GitStore(dir);
    expect(await store.treeOf(head)).toBe(tree);
    expect(await store.readTree(tree)).toEqual(entries);
  });
});
