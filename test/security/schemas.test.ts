/**
 * User schemas that are unsafe to load or run: compiled when written, a
 * broken one blocks only the files it names, patterns run under a time
 * budget, and a signal stops a write that is validating or waiting.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SchemaError } from '../../src/errors.js';
import { CLI, assertRepoHealthy, cleanupTempDirs, git, headOid, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);
afterEach(() => {
  delete process.env.GITSTATE_REGEX_BUDGET_MS;
});

const byHand = (dir: string, message: string) => git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qm', message);
const schema = (files: string[], body: object) => `${JSON.stringify({ 'x-gitstate-files': files, ...body })}\n`;
const catastrophic = schema(['notes/**'], { type: 'object', properties: { a: { type: 'string', pattern: '^(a+)+$' } } });
const hostile = `a: ${'a'.repeat(40)}!\n`;

/** Resolve once `test()` holds, checking on every change in `dir` (and on a slow timer as a fallback). */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((r) => setTimeout(r, 10));
}

describe('user schemas', () => {
  it.each([
    ['an unknown type', schema(['**'], { type: 'bogus' }), /Unsupported type: bogus/],
    ['no file list', JSON.stringify({ type: 'object' }), /needs "x-gitstate-files"/],
    ['a pattern that is not a regex', schema(['**'], { type: 'string', pattern: '(' }), /not a regular expression/],
    ['a dangling $ref', schema(['**'], { $ref: '#/$defs/nope' }), /Reference not found/],
    ['if/then/else', schema(['**'], { if: {}, then: {} }), /not supported/],
    ['not JSON', '{"x-gitstate-files": ["**"],', /invalid (JSON|YAML)/],
  ])('%s is refused when written, and nothing is committed', async (_name, text, error) => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    await expect(repo.write('.gitstate/schemas/bad.schema.json', text)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(error) });
    expect(headOid(repo.dir)).toBe(head);
    expect(existsSync(join(repo.dir, '.gitstate/schemas/bad.schema.json'))).toBe(false);
    await repo.set('knowledge', 'still', 'fine');
  });

  it('a broken schema already in the repo blocks only the files it names, says how to fix it, and the fix works', async () => {
    const repo = await tempRepo();
    await mkdir(join(repo.dir, '.gitstate/schemas'), { recursive: true });
    await writeFile(join(repo.dir, '.gitstate/schemas/bad.schema.json'), schema(['knowledge.yaml'], { type: 'bogus' }));
    await writeFile(join(repo.dir, '.gitstate/schemas/garbled.schema.json'), '{not json');
    git(repo.dir, 'add', '.gitstate');
    byHand(repo.dir, 'broken schemas by hand');
    const err = await repo.set('knowledge', 'a', 1).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as Error).message).toBe(
      'knowledge.yaml is checked by .gitstate/schemas/bad.schema.json, which does not load (could not be loaded: Unsupported type: bogus); write a corrected schema (gitstate write .gitstate/schemas/bad.schema.json < fixed.json) or remove it (gitstate delete .gitstate/schemas/bad.schema.json)',
    );
    await repo.set('shared_context', 'a', 1); // not named: not blocked (nor by the garbled one, which names nothing)
    await repo.write('.gitstate/schemas/bad.schema.json', schema(['knowledge.yaml'], { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] }));
    await expect(repo.set('knowledge', 'b', 1)).rejects.toThrow(/a: expected/);
    await repo.set('knowledge', 'a', 1);
    await repo.delete('.gitstate/schemas/garbled.schema.json');
    assertRepoHealthy(repo.dir);
  });

  it('a pattern still checks what it should', async () => {
    const repo = await tempRepo();
    await repo.write('.gitstate/schemas/ids.schema.json', schema(['knowledge.yaml'], { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Z]+-[0-9]+$' } } }));
    await repo.set('knowledge', 'id', 'AAP-12');
    await expect(repo.set('knowledge', 'id', 'nope')).rejects.toThrow(/knowledge\.yaml: id: .*pattern/i);
  });

  it('a catastrophic pattern is stopped at the budget and the lock is free at once', async () => {
    process.env.GITSTATE_REGEX_BUDGET_MS = '300';
    const repo = await tempRepo();
    await repo.write('.gitstate/schemas/re.schema.json', catastrophic);
    const head = headOid(repo.dir);
    await expect(repo.write('notes/x', hostile)).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/pattern 1 of \.gitstate\/schemas\/re\.schema\.json took longer than 300 ms/) });
    expect(headOid(repo.dir)).toBe(head);
    await repo.write('notes/x', 'a: aaaa\n'); // the worker was replaced; the next check runs
    await repo.set('knowledge', 'after', true);
    assertRepoHealthy(repo.dir);
  });
});

describe('signals', () => {
  function start(dir: string, args: string[], input: string, env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, [CLI, '--dir', dir, ...args], { env: { ...process.env, GITSTATE_DIR: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(input);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited };
  }

  it('SIGTERM stops a write that is validating: no commit, no lock left', async () => {
    const repo = await tempRepo();
    await repo.write('.gitstate/schemas/re.schema.json', catastrophic);
    const head = headOid(repo.dir);
    const { child, exited } = start(repo.dir, ['write', 'notes/x'], hostile, { GITSTATE_REGEX_BUDGET_MS: '600000' });
    await until(() => existsSync(join(repo.gitdir, 'gitstate.lock'))); // it holds the lock: it is preparing the write
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(join(repo.gitdir, 'gitstate.lock'))).toBe(false);
    expect(headOid(repo.dir)).toBe(head);
    await repo.set('knowledge', 'after', 1);
    assertRepoHealthy(repo.dir);
  });

  it('SIGINT stops a write that is waiting for the lock', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const taken = new Promise<void>((r) => (locked = r));
    const holder = repo.locked(async () => {
      locked();
      await held;
    });
    await taken;
    const queue = join(repo.gitdir, 'gitstate-lock-queue');
    const { child, exited } = start(repo.dir, ['set', 'knowledge', 'a', '1'], '', { GITSTATE_LOCK_TIMEOUT_MS: '600000' });
    await until(() => existsSync(queue) && readdirSync(queue).length > 0); // it is waiting for the lock
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
    release();
    await holder;
    expect(headOid(repo.dir)).toBe(head);
  });

  it('under contention, exit 5 comes only after the documented timeout', async () => {
    const repo = await tempRepo();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const taken = new Promise<void>((r) => (locked = r));
    const holder = repo.locked(async () => {
      locked();
      await held;
    });
    await taken;
    const began = Date.now();
    const { child, exited } = start(repo.dir, ['set', 'knowledge', 'a', '1'], '', { GITSTATE_LOCK_TIMEOUT_MS: '1500' });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect((await exited).code).toBe(5);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    expect(stderr).toMatch(/could not take the repository lock within 1500 ms/);
    release();
    await holder;
  });
});
