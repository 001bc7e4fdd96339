/**
 * The launcher (src/cli/launch.ts): the build's code caches are used (reads
 * with read.cache, writes with write.cache), and a cache that does not belong
 * to the bundle beside it is never used: the call compiles as usual and works.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, ROOT, tempDir } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

/** Run the launcher in `dir` with the cache reported; returns [stdout, what it said of the cache]. */
function launch(dir: string, args = ['--version']): [string, string] {
  const r = spawnSync(process.execPath, [join(dir, 'main.js'), ...args], { env: { ...process.env, GITSTATE_CODE_CACHE: 'report', GITSTATE_DIR: '' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return [r.stdout.trim(), r.stderr.trim()];
}

/** A copy of the built launcher, bundle and cache, as npm would install them (new modification times). */
async function copyOfCli(): Promise<string> {
  const dir = await tempDir();
  for (const name of ['package.json', 'main.js', 'bundle.cjs', 'read.cache', 'write.cache']) copyFileSync(join(ROOT, 'dist/cli', name), join(dir, name));
  return dir;
}

describe('the CLI launcher', () => {
  it("uses the build's code caches: read.cache for a read, help or version, write.cache for a write", async () => {
    const cli = join(ROOT, 'dist/cli');
    expect(launch(cli)).toEqual([version, 'gitstate: code cache read.cache used']);
    expect(launch(cli, ['help'])[1]).toBe('gitstate: code cache read.cache used');
    const dir = join(await tempDir(), 'state');
    expect(launch(cli, ['--dir', dir, '--author', 'A <a@b>', 'init', '-q'])[1]).toBe('gitstate: code cache write.cache used');
    const [commit, said] = launch(cli, ['--author', 'A <a@b>', '--dir', dir, 'set', 'knowledge', 'get', 'v']);
    expect([commit, said]).toEqual([expect.stringMatching(/^[0-9a-f]{40}$/), 'gitstate: code cache write.cache used']);
    expect(launch(cli, ['--dir', dir, 'get', 'knowledge', 'get'])).toEqual(['v', 'gitstate: code cache read.cache used']);
    expect(launch(cli, ['--json', '--dir', dir, 'log', '-n', '1'])[1]).toBe('gitstate: code cache read.cache used');
  });

  it('uses it for a copy of the same bundle, never for a changed one, and still runs', async () => {
    const dir = await copyOfCli();
    expect(launch(dir)).toEqual([version, 'gitstate: code cache read.cache used']); // copied: still the same bundle
    const source = readFileSync(join(dir, 'bundle.cjs'), 'utf8');
    writeFileSync(join(dir, 'bundle.cjs'), source.replace('//# gitstate-bundle ', '// changed\n//# gitstate-bundle '));
    expect(launch(dir)).toEqual([version, 'gitstate: code cache read.cache absent']); // changed: never the old cache
    writeFileSync(join(dir, 'bundle.cjs'), source.replace(/\/\/# gitstate-bundle [0-9a-f]+\n$/, ''));
    expect(launch(dir)).toEqual([version, 'gitstate: code cache read.cache absent']); // no hash: no cache
  });

  it('the bundle is ASCII, and one that is not (edited by hand) is read as UTF-8: its text is never garbled', async () => {
    const built = readFileSync(join(ROOT, 'dist/cli/bundle.cjs'));
    expect(built.every((byte) => byte < 0x80)).toBe(true); // the build keeps it so (the launcher's Latin-1 read)
    const dir = await copyOfCli();
    const source = readFileSync(join(dir, 'bundle.cjs'), 'utf8');
    // the version it prints, prefixed with a non-ASCII mark
    const marked = source.replace(`.version("${version}")`, `.version("\u00e9 ${version}")`);
    expect(marked).not.toBe(source);
    writeFileSync(join(dir, 'bundle.cjs'), marked);
    expect(readFileSync(join(dir, 'bundle.cjs')).some((byte) => byte >= 0x80)).toBe(true);
    expect(launch(dir)).toEqual([`\u00e9 ${version}`, 'gitstate: code cache read.cache absent']);
  });

  it('a cache whose stamp matches but whose data V8 does not accept is rejected, and the call still runs', async () => {
    const dir = await copyOfCli();
    const cache = readFileSync(join(dir, 'read.cache'));
    const header = cache.subarray(0, cache.indexOf(10) + 1);
    writeFileSync(join(dir, 'read.cache'), Buffer.concat([header, Buffer.alloc(4096, 7)]));
    expect(launch(dir)).toEqual([version, 'gitstate: code cache read.cache rejected']);
  });
});
