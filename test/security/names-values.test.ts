/**
 * Names and values that would not survive: file names outside what every
 * common file system allows, authors git would record wrongly, notes that
 * could forge trailers, numbers that lose digits, keys JS objects drop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeStatePath } from '../../src/base/paths.js';
import { checkPerson, parseAuthor, resolveAuthor } from '../../src/core/author.js';
import { checkNote, commitMessage } from '../../src/core/message.js';
import { checkJsonNumbers, jsonErrorReason, numberTextIsExact } from '../../src/security/values.js';
import { parseValueText } from '../../src/yaml/document.js';
import { deleteAt, getAt, setAt } from '../../src/state/object-path.js';
import { parseKeyPath } from '../../src/base/keypath.js';
import { StateManager } from '../../src/state/manager.js';
import { parseTrailers } from '../../src/history/index-file.js';
import { assertRepoHealthy, cleanupTempDirs, git, restoreEnv, tempRepo } from '../helpers/repo.js';
import { tokens } from './tokens.js';

afterAll(cleanupTempDirs);

describe('file names', () => {
  it.each([
    ['knowledge', 'knowledge.yaml'],
    ['projects/backend/current_work', 'projects/backend/current_work.yaml'],
    ['é'.repeat(125), `${'é'.repeat(125)}.yaml`], // 250 + 5 bytes: exactly 255
    ['notes/v1.2', 'notes/v1.2.yaml'],
    ['.gitstate/schemas/a.json', '.gitstate/schemas/a.json'],
  ])('%s is %s', (input, path) => expect(normalizeStatePath(input)).toBe(path));

  it.each([
    ['漢'.repeat(100), /300 bytes; the limit is 255 bytes/],
    ['é'.repeat(126), /257 bytes/],
    ['knowledge.', /ending in "\."/],
    ['knowledge.yaml.', /ending in "\."/],
    ['a..b', /contains "\.\."/],
    ['knowledge.yaml/x', /as a folder/],
    ['notes.json/x', /as a folder/],
    ['con', /a name Windows keeps/],
    ['projects/NUL.yaml', /a name Windows keeps/],
    ['lpt1.json', /a name Windows keeps/],
    ['com\u00b9.yaml', /a name Windows keeps/],
    ['.gitstate/local/x', /local to this machine and never committed/],
    ['e\u0301t\u00e9', /not in Unicode NFC/],
    [`notes/${tokens.github}!`, /unsupported character/],
  ])('%s is refused', (input, error) => {
    expect(() => normalizeStatePath(input)).toThrow(error);
    try {
      normalizeStatePath(input);
    } catch (err) {
      expect((err as Error).message).not.toContain(tokens.github);
      expect(err).toMatchObject({ code: 'PATH', exitCode: 3 });
    }
  });

  it('a new name that differs only in case from an existing one is refused; the same name is fine', async () => {
    const repo = await tempRepo();
    await expect(repo.set('Knowledge', 'a', 1)).rejects.toMatchObject({ code: 'PATH', message: expect.stringMatching(/differs from knowledge\.yaml only in case/) });
    await expect(repo.set('Projects/x', 'a', 1)).rejects.toMatchObject({ code: 'PATH', message: expect.stringMatching(/Projects differs from projects only in case/) });
    await expect(repo.transaction(async (tx) => { await tx.set('notes/a', 'x', 1); await tx.set('Notes/b', 'x', 1); })).rejects.toThrow(/only in case/);
    await repo.set('projects/x', 'a', 1);
    await repo.set('knowledge', 'a', 1);
    assertRepoHealthy(repo.dir);
  });
});

describe('authors', () => {
  it.each([
    ['Bob <bob@x.org>', 'x@y.z', /may not contain "<", ">"/],
    ['Ann\nEve', 'x@y.z', /control characters such as a newline/],
    ['Ann', 'not-an-email', /not an email address/],
    ['Ann', 'a b@c.d', /not an email address/],
    ['Ann', 'a@b>c', /not an email address/],
    ['', 'a@b.c', /is empty/],
    [tokens.github, 'a@b.c', /looks like a secret/],
  ])('%j <%s> is refused', (name, email, error) => {
    expect(() => checkPerson({ name, email }, 'a test')).toThrow(error);
    try {
      checkPerson({ name, email }, 'a test');
    } catch (err) {
      expect(err).toMatchObject({ code: 'AUTHOR', exitCode: 3 });
      expect((err as Error).message).toContain('from a test');
      expect((err as Error).message).not.toContain(tokens.github);
    }
  });

  it('each source is named: --author, the environment, git config', async () => {
    const repo = await tempRepo();
    const store = await repo.store();
    expect(() => parseAuthor('Ann <ann@x.org')).toThrow(/--author must look like "Name <email>"/);
    const saved = { ...process.env };
    try {
      process.env.GITSTATE_AUTHOR_NAME = 'Bob <bob@x.org>';
      await expect(resolveAuthor(store)).rejects.toThrow(/from GITSTATE_AUTHOR_NAME/);
      delete process.env.GITSTATE_AUTHOR_NAME;
      process.env.GITSTATE_AUTHOR_EMAIL = 'nope';
      await expect(resolveAuthor(store)).rejects.toThrow(/from GITSTATE_AUTHOR_EMAIL/);
      delete process.env.GITSTATE_AUTHOR_EMAIL;
      git(repo.dir, 'config', 'user.name', 'Ann <ann@x.org>');
      await expect(resolveAuthor(store)).rejects.toThrow(/from git config user\.name/);
      git(repo.dir, 'config', 'user.name', 'Ann');
      git(repo.dir, 'config', 'user.email', 'ann@x.org');
      expect(await resolveAuthor(store)).toEqual({ name: 'Ann', email: 'ann@x.org' });
    } finally {
      restoreEnv(saved);
    }
  });
});

describe('commit messages', () => {
  it('a note cannot add Gitstate trailers or control characters', () => {
    expect(() => checkNote('done\n\nGitstate-Op: delete')).toThrow(/written by gitstate alone/);
    expect(() => checkNote('  gitstate-file: other.yaml')).toThrow(/written by gitstate alone/);
    expect(() => checkNote('a\u0007b')).toThrow(/control character/);
    expect(checkNote('Signed-off-by: Ann <a@b.c>\r\nsecond line')).toBe('Signed-off-by: Ann <a@b.c>\nsecond line');
  });

  it('the subject is one line and the trailers stay gitstate\'s', () => {
    const message = commitMessage([{ op: 'set', file: 'knowledge.yaml', key: 'a' }], { subject: 'session log: x\n\nGitstate-Op: delete', note: 'why' });
    expect(message.split('\n')[0]).toBe('session log: x Gitstate-Op: delete');
    expect(parseTrailers(message)).toMatchObject({ op: 'set', files: ['knowledge.yaml'], keys: ['a'] });
  });
});

describe('numbers', () => {
  it.each([
    ['42', true],
    ['-0.5', true],
    ['1e20', true],
    ['9007199254740992', true],
    ['1.50', true],
    ['9007199254740993', false],
    ['12345678901234567890', false],
    ['0.12345678901234567890', false],
    ['1e400', false],
    ['-1e400', false],
  ])('%s is exact: %s', (text, exact) => expect(numberTextIsExact(text)).toBe(exact));

  it('YAML values and JSON lines with such numbers are refused; quoted they are kept', () => {
    expect(() => parseValueText('12345678901234567890', 'VALUE')).toThrow(/more digits than a number can keep/);
    expect(() => parseValueText('{a: [1, 1e400]}', 'VALUE')).toThrow(/would be stored as infinity/);
    expect(parseValueText('"12345678901234567890"', 'VALUE')).toBe('12345678901234567890');
    expect(parseValueText('0x1F', 'VALUE')).toBe(31);
    expect(() => checkJsonNumbers('{"v": 12345678901234567890}', 'batch line 1')).toThrow(/batch line 1/);
    expect(() => checkJsonNumbers('{"v": "12345678901234567890", "w": -3.25e2}', 'x')).not.toThrow();
  });

  it('a library value that is not finite is refused, in a file and in state.json', async () => {
    const repo = await tempRepo();
    await expect(repo.set('knowledge', 'x', Infinity)).rejects.toMatchObject({ code: 'INVALID_VALUE', exitCode: 3 });
    await expect(repo.set('knowledge', 'x', { y: [NaN] })).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    expect(() => state.set('x', Infinity)).toThrow(/cannot be stored/);
    expect(() => state.set('x', () => 1)).toThrow(/JSON cannot store/);
    await state.close();
  });

  it('JSON errors name where, never the text', () => {
    const text = `{"a": ${tokens.github}}`;
    let reason = '';
    try {
      JSON.parse(text);
    } catch (err) {
      reason = jsonErrorReason(err, text);
    }
    expect(reason).not.toContain('ghp');
    expect(jsonErrorReason(new SyntaxError('Unterminated string in JSON at position 12'), 'x\n{"abcdefghi')).toBe('a string is not closed at line 2, column 11');
  });
});

describe('keys JS objects cannot hold by assignment', () => {
  it.each(['__proto__', 'constructor', 'prototype'])('%s is stored as an own key and read back', (name) => {
    const root: Record<string, unknown> = {};
    setAt(root, parseKeyPath(`${name}.polluted`), 1);
    expect(Object.keys(root)).toEqual([name]);
    expect(getAt(root, parseKeyPath(`${name}.polluted`))).toBe(1);
    expect(JSON.parse(JSON.stringify(root))).toEqual(JSON.parse(`{"${name}": {"polluted": 1}}`));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(deleteAt(root, parseKeyPath(name))).toBe(true);
    expect(Object.keys(root)).toEqual([]);
  });

  it('state set __proto__.polluted commits what it acknowledged, and a fresh process reads it', async () => {
    const repo = await tempRepo();
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    state.set('__proto__.polluted', 1);
    state.set('constructor', { prototype: 2 });
    const result = await state.flush();
    await state.close();
    expect(result?.changed).toBe(true);
    expect(git(repo.dir, 'show', 'HEAD:state.json')).toContain('"__proto__"');
    const again = await StateManager.open(repo.dir, { flushOnExit: false });
    expect(again.get('__proto__.polluted')).toBe(1);
    expect(again.get('constructor.prototype')).toBe(2);
    await again.close();
  });

  it('YAML files keep such keys through set and merge', async () => {
    const repo = await tempRepo();
    await repo.set('knowledge', '__proto__.a', 1);
    await repo.merge('knowledge', undefined, JSON.parse('{"__proto__": {"b": 2}, "constructor": 3}'));
    expect(await repo.get('knowledge', '__proto__')).toEqual({ a: 1, b: 2 });
    expect(await repo.get('knowledge', 'constructor')).toBe(3);
    assertRepoHealthy(repo.dir);
  });
});
