import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configPath, loadConfig } from '../../src/config/config.js';
import { PathError } from '../../src/errors.js';
import { cleanupTempDirs, cli, git, headOid, tempDir, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

describe('config.json', () => {
  it('is found beside the state dir, validated, and frozen', async () => {
    const root = await tempDir();
    const stateDir = join(root, 'state');
    await mkdir(stateDir);
    const config = { projects: { backend: { path: '/src/backend', default_branch: 'main' } }, services: { jira: { url: 'https://jira.example.com' } }, credentials: { jira: 'SECRET-VALUE' } };
    await writeFile(join(root, 'config.json'), JSON.stringify(config));
    expect(configPath(stateDir)).toBe(join(root, 'config.json'));
    const loaded = await loadConfig(stateDir);
    expect(loaded).toEqual(config);
    expect(Object.isFrozen(loaded!.credentials)).toBe(true);
  });

  it('reports a bad field by key path without printing values', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'config.json'), JSON.stringify({ services: { jira: { url: 'not a url SECRET-VALUE' } } }));
    const err = await loadConfig(join(root, 'state')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/services\.jira\.url/);
    expect((err as Error).message).not.toContain('SECRET-VALUE');
  });

  it('must live outside the state directory', async () => {
    const root = await tempDir();
    await expect(loadConfig(root, join(root, 'config.json'))).rejects.toThrow(/must live outside/);
    expect(await loadConfig(join(root, 'state'), join(root, 'missing.json'))).toBeNull();
  });

  it('is never committed: not through the CLI, not through the library', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const r = await cli(['write', 'config.json'], { dir: repo.dir, input: '{"credentials": {}}' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/config\.json.*never stored/);
    await expect(repo.commitFiles([{ path: 'projects/x/config.json', content: Buffer.from('{}') }], { op: 'write' })).rejects.toThrow(PathError);
    expect(headOid(repo.dir)).toBe(head);
    expect(git(repo.dir, 'ls-files')).not.toContain('config.json');
    expect(await readdir(repo.dir)).not.toContain('config.json');
  });
});
