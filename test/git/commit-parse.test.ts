/**
 * Commits read without isomorphic-git (loose, or in a pack of whole objects)
 * must read exactly as isomorphic-git (pinned) reads them: the tree, the
 * parents, author, committer and message, over generated commit objects with
 * git's odd corners (extra and multi-line headers, a `parent` line out of
 * place, CRs and blank lines around the message, any time zone).
 */
import * as fs from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeObject } from '../../src/git/objects.js';
import { parseCommit } from '../../src/git/loose.js';
import { GitStore } from '../../src/git/store.js';
import { cleanupTempDirs, git, tempDir } from '../helpers/repo.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const isoGit = (createRequire(import.meta.url)('isomorphic-git') as { default: typeof import('isomorphic-git').default }).default;
const oid = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', 'é', '日', '.', '-', '\u{1F600}'), maxLength: 12 });
const name = text.map((t) => t.trim() || 'x');
const zone = fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 15, 30, 45)).map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}${String(m).padStart(2, '0')}`);
const person = fc.tuple(name, name, fc.integer({ min: 0, max: 4_000_000_000 }), zone).map(([n, e, t, z]) => `${n} <${e}> ${t} ${z}`);
const extra = fc.constantFrom('encoding ISO-8859-1', 'gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----', 'mergetag object 1\n type commit', `parent ${'1'.repeat(40)}`, 'x-custom value');
const message = fc.array(fc.constantFrom('subject', 'body line', '', '\r', 'Gitstate-Op: set', 'Gitstate-Host: h'), { maxLength: 6 }).map((lines) => lines.join('\n'));
const commit = fc.record({ tree: oid, parents: fc.array(oid, { maxLength: 3 }), author: person, committer: person, before: fc.array(extra, { maxLength: 1 }), after: fc.array(extra, { maxLength: 2 }), message, newlines: fc.integer({ min: 0, max: 3 }) });

describe('parseCommit', () => {
  it('reads every commit as isomorphic-git does', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const gitdir = join(dir, '.git');
    await fc.assert(
      fc.asyncProperty(commit, async (c) => {
        const headers = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), ...c.before, `author ${c.author}`, `committer ${c.committer}`, ...c.after];
        const content = Buffer.from(`${headers.join('\n')}\n\n${c.message}${'\n'.repeat(c.newlines)}`);
        const { oid: id, deflated } = encodeObject('commit', content);
        mkdirSync(join(gitdir, 'objects', id.slice(0, 2)), { recursive: true });
        writeFileSync(join(gitdir, 'objects', id.slice(0, 2), id.slice(2)), deflated);
        const { commit: theirs } = await isoGit.readCommit({ fs, gitdir, oid: id });
        const expected = { tree: theirs.tree, parents: theirs.parent, author: theirs.author, committer: theirs.committer, message: theirs.message };
        expect(parseCommit(content)).toEqual(expected);
        // and the store reads it so, without isomorphic-git
        expect(await new GitStore(dir).readCommit(id)).toEqual({ oid: id, ...expected });
      }),
      { numRuns: sized(200, 2000) },
    );
  });
});
