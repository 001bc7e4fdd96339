/**
 * The hostile trial's cases (issue 13), through the CLI: every secret bypass,
 * bad author, unsafe schema, bad name and lossy number. Each refused case gets
 * its exit code and one line naming what and where — never the secret — and
 * leaves HEAD, `git status`, every byte of the work tree and git's temp folder
 * as they were. The cases that must be stored are stored faithfully.
 * (The MCP cases run in-process through the SDK's in-memory transport.)
 * `npm test` runs every third case; `npm run test:full` (and CI) all of them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/mcp/server.js';
import { StateManager } from '../../src/state/manager.js';
import { assertRepoHealthy, cleanupTempDirs, cli, git, headOid, tempRepo, workTreeSnapshot } from '../helpers/repo.js';
import { tokens as T } from '../security/tokens.js';
import { sized } from '../helpers/tier.js';

afterAll(cleanupTempDirs);

const TOK = `ghp_${'a1'.repeat(20)}`; // the trial's token: ghp_ and 40 letters and digits
const SECRETS = [TOK, T.github, T.gitlab, T.pem.slice(0, 40), 'hunter2', '84736251'];
const byHand = (dir: string, message: string) => {
  git(dir, 'add', '-A');
  return git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qm', message);
};
const schemaText = (files: string[], body: object) => `${JSON.stringify({ 'x-gitstate-files': files, ...body })}\n`;

const snapshot = workTreeSnapshot;

interface Case {
  name: string;
  args: string[];
  input?: string;
  env?: NodeJS.ProcessEnv;
  setup?: (dir: string) => Promise<void>;
  /** Refused: the exit code and the one line of stderr. */
  code?: number;
  error?: RegExp;
  /** Stored: what must then hold. */
  stored?: (dir: string) => Promise<void>;
}

export const hostileCases: Case[] = [
  // 1. the secret guard: every byte a commit adds
  { name: 'a token in a comment', args: ['write', 'notes/c'], input: `# deploy ${TOK}\na: 1\n`, code: 3, error: /notes\/c\.yaml: line 1: looks like a secret \(rule github-token/ },
  { name: 'a token as a key (and so in the subject and trailer)', args: ['set', 'knowledge', TOK, '1'], code: 3, error: /knowledge\.yaml: \["\[redacted\]"\]: looks like a secret/ },
  { name: 'a token as a file name', args: ['set', `notes/${TOK}`, 'a', '1'], code: 3, error: /the file name notes\/\[redacted\]\.yaml: looks like a secret/ },
  { name: 'a token as a folder name', args: ['set', `${TOK}/notes`, 'a', '1'], code: 3, error: /the file name \[redacted\]\/notes\.yaml: looks like a secret/ },
  { name: 'a token in the -m note', args: ['set', 'knowledge', 'a', '1', '-m', TOK], code: 3, error: /the commit message: looks like a secret/ },
  { name: 'a token as the --author name', args: ['--author', `${TOK} <a@b.c>`, 'set', 'knowledge', 'a', '1'], code: 3, error: /the author name from --author looks like a secret/ },
  { name: 'a token as the author email', args: ['set', 'knowledge', 'a', '1'], env: { GITSTATE_AUTHOR_EMAIL: `${T.npm}@x.org` }, code: 3, error: /the author email from GITSTATE_AUTHOR_EMAIL .*looks like a secret|not an email/ },
  { name: 'a number under a password key', args: ['set', 'knowledge', 'db.password', '84736251'], code: 3, error: /knowledge\.yaml: db\.password: looks like a secret \(rule sensitive-key/ },
  { name: 'a camelCase password key', args: ['set', 'knowledge', 'dbPassword', 'hunter2'], code: 3, error: /dbPassword: looks like a secret/ },
  { name: 'githubToken', args: ['set', 'knowledge', 'githubToken', 'abc123def'], code: 3, error: /githubToken: looks like a secret/ },
  { name: 'apiKey', args: ['set', 'knowledge', 'service.apiKey', 'abc123def'], code: 3, error: /service\.apiKey: looks like a secret/ },
  { name: 'a map under a password key', args: ['set', 'knowledge', 'password', '{value: hunter2}'], code: 3, error: /password\.value: looks like a secret/ },
  { name: 'a list under a secrets key', args: ['append', 'knowledge', 'secrets', 'hunter2'], code: 3, error: /secrets\[0\]: looks like a secret/ },
  { name: 'a private key in !!binary', args: ['write', 'notes/b'], input: `k: !!binary ${Buffer.from(T.pem).toString('base64')}\n`, code: 3, error: /notes\/b\.yaml: k: looks like a secret \(rule private-key/ },
  { name: 'a base64-wrapped private key string', args: ['set', 'knowledge', 'blob', T.pemBase64], code: 3, error: /looks like a secret \(rule private-key-base64/ },
  { name: 'a duplicate-looking key hiding a value', args: ['write', 'notes/d'], input: `1: ${TOK}\n"1": safe\n`, code: 3, error: /notes\/d\.yaml: line 1: looks like a secret/ },
  { name: 'a JWT in a batch', args: ['batch'], input: `${JSON.stringify({ op: 'set', file: 'knowledge', key: 'session', value: T.jwt })}\n`, code: 3, error: /session: looks like a secret \(rule jwt/ },
  { name: 'a connection string with a password', args: ['set', 'knowledge', 'db.url', T.postgres], code: 3, error: /db\.url: looks like a secret \(rule connection-string/ },
  { name: 'an escaped token in a JSON file', args: ['write', 'notes/e.json'], input: `{"t": "${T.github.replace('p', '\\u0070')}"}\n`, code: 3, error: /notes\/e\.json: t: looks like a secret/ },
  { name: 'a token in a state.json key', args: ['state', 'set', `tools_config.${T.gitlab}`, '1'], code: 3, error: /state\.json: .*looks like a secret/ },
  { name: 'the original system\'s health record is accepted', args: ['write', 'environment_health'], input: 'health_checks:\n  gitlab_token:\n    healthy: false\n    details: "GitLab check failed: 401 Unauthorized"\n    last_checked: 2026-01-21 15:54:19\n', stored: async (d) => expect(await readFile(join(d, 'environment_health.yaml'), 'utf8')).toContain('gitlab_token:') },
  {
    name: 'a write beside a secret pushed with --no-verify is not blocked',
    args: ['set', 'knowledge', 'other', '2'],
    setup: async (d) => { await writeFile(join(d, 'knowledge.yaml'), `remote_secret: ${TOK}\nother: 1\n`); byHand(d, 'pushed from elsewhere'); },
    stored: async (d) => expect(git(d, 'show', 'HEAD:knowledge.yaml')).toContain('other: 2'),
  },
  // 3. authors from every source
  { name: 'GITSTATE_AUTHOR_NAME with an email in it', args: ['set', 'knowledge', 'a', '1'], env: { GITSTATE_AUTHOR_NAME: 'Bob <bob@x.org>' }, code: 3, error: /the author name from GITSTATE_AUTHOR_NAME .*may not contain "<", ">"/ },
  { name: 'a newline in GITSTATE_AUTHOR_NAME', args: ['set', 'knowledge', 'a', '1'], env: { GITSTATE_AUTHOR_NAME: 'Bob\nEve' }, code: 3, error: /from GITSTATE_AUTHOR_NAME .*control characters such as a newline/ },
  { name: 'a bad GITSTATE_AUTHOR_EMAIL', args: ['set', 'knowledge', 'a', '1'], env: { GITSTATE_AUTHOR_EMAIL: 'bob at x' }, code: 3, error: /the author email from GITSTATE_AUTHOR_EMAIL .*is not an email address/ },
  { name: 'git config user.name with an email in it', args: ['set', 'knowledge', 'a', '1'], env: { GITSTATE_AUTHOR_NAME: '' }, setup: async (d) => void git(d, 'config', 'user.name', 'Ann <ann@x.org>'), code: 3, error: /the author name from git config user\.name/ },
  { name: 'a malformed --author', args: ['--author', 'Ann <ann@x.org', 'set', 'knowledge', 'a', '1'], code: 3, error: /--author must look like "Name <email>"/ },
  // 4. keys JS objects drop
  { name: 'state set __proto__.polluted is stored', args: ['state', 'set', '__proto__.polluted', '1'], stored: async (d) => expect(JSON.parse(git(d, 'show', 'HEAD:state.json'))).toEqual(JSON.parse('{"__proto__": {"polluted": 1}}')) },
  { name: 'state set constructor.prototype is stored', args: ['state', 'set', 'constructor.prototype', '1'], stored: async (d) => expect(git(d, 'show', 'HEAD:state.json')).toContain('"constructor"') },
  { name: 'set __proto__ in a YAML file is stored', args: ['set', 'knowledge', '__proto__.a', '1'], stored: async (d) => expect(git(d, 'show', 'HEAD:knowledge.yaml')).toContain('__proto__:') },
  // 5. user schemas
  { name: 'a schema that does not compile', args: ['write', '.gitstate/schemas/bad.schema.json'], input: schemaText(['**'], { type: 'bogus' }), code: 3, error: /user schema \.gitstate\/schemas\/bad\.schema\.json could not be loaded: Unsupported type: bogus/ },
  {
    name: 'a broken schema in the repo blocks the files it names',
    args: ['set', 'knowledge', 'a', '1'],
    setup: async (d) => { await mkdir(join(d, '.gitstate/schemas'), { recursive: true }); await writeFile(join(d, '.gitstate/schemas/bad.schema.json'), schemaText(['knowledge.yaml'], { type: 'bogus' })); byHand(d, 'bad schema'); },
    code: 3,
    error: /knowledge\.yaml is checked by \.gitstate\/schemas\/bad\.schema\.json, which does not load .*write a corrected schema/,
  },
  {
    name: 'a corrected schema can always be written over a broken one',
    args: ['write', '.gitstate/schemas/bad.schema.json'],
    input: schemaText(['**'], { type: 'object' }),
    setup: async (d) => { await mkdir(join(d, '.gitstate/schemas'), { recursive: true }); await writeFile(join(d, '.gitstate/schemas/bad.schema.json'), schemaText(['**'], { type: 'bogus' })); byHand(d, 'bad schema'); },
    stored: async (d) => expect(git(d, 'show', 'HEAD:.gitstate/schemas/bad.schema.json')).toContain('"object"'),
  },
  {
    name: 'a catastrophic pattern is stopped by the budget',
    args: ['write', 'notes/x'],
    input: `a: ${'a'.repeat(40)}!\n`,
    env: { GITSTATE_REGEX_BUDGET_MS: '500' },
    setup: async (d) => { await mkdir(join(d, '.gitstate/schemas'), { recursive: true }); await writeFile(join(d, '.gitstate/schemas/re.schema.json'), schemaText(['notes/**'], { type: 'object', properties: { a: { type: 'string', pattern: '^(a+)+$' } } })); byHand(d, 'a schema with a bad pattern'); },
    code: 3,
    error: /notes\/x\.yaml: pattern 1 of \.gitstate\/schemas\/re\.schema\.json took longer than 500 ms/,
  },
  // 6. locks (the lock itself is core/lock.ts)
  { name: 'a plain file at the lock path', args: ['set', 'knowledge', 'a', '1'], setup: async (d) => writeFile(join(d, '.git/gitstate.lock'), ''), code: 1, error: /gitstate\.lock is a file, but gitstate's repository lock is a folder/ },
  // 7. names and values
  { name: 'a 100-character name of 3-byte characters', args: ['set', '漢'.repeat(100), 'a', '1'], code: 3, error: /has a component of 300 bytes; the limit is 255 bytes/ },
  { name: 'a 255-byte name is fine', args: ['set', 'é'.repeat(125), 'a', '1'], stored: async (d) => expect(existsSync(join(d, `${'é'.repeat(125)}.yaml`))).toBe(true) },
  { name: 'a file used as a folder', args: ['set', 'knowledge.yaml/x', 'a', '1'], code: 3, error: /uses "knowledge\.yaml" as a folder/ },
  { name: 'a name ending in "."', args: ['set', 'knowledge.', 'a', '1'], code: 3, error: /has a component ending in "\."/ },
  { name: 'a name with ".." inside', args: ['set', 'a..b', 'a', '1'], code: 3, error: /contains "\.\."/ },
  { name: 'a Windows device name', args: ['set', 'projects/aux', 'a', '1'], code: 3, error: /a name Windows keeps for a device/ },
  { name: 'a case-insensitive duplicate', args: ['set', 'Knowledge', 'a', '1'], code: 3, error: /Knowledge\.yaml differs from knowledge\.yaml only in case/ },
  { name: 'a case-insensitive duplicate folder', args: ['set', 'PROJECTS/x', 'a', '1'], code: 3, error: /PROJECTS differs from projects only in case/ },
  { name: 'a file under .gitstate/local/', args: ['set', '.gitstate/local/x', 'a', '1'], code: 3, error: /under \.gitstate\/local\/, which is local to this machine and never committed/ },
  { name: '1e400 in a YAML file', args: ['set', 'knowledge', 'inf', '1e400'], code: 3, error: /the number 1e400 is too large/ },
  { name: '1e400 in state.json', args: ['state', 'set', 'x', '1e400'], code: 3, error: /the number 1e400 is too large/ },
  { name: '.inf', args: ['set', 'knowledge', 'inf', '.inf'], code: 3, error: /VALUE: \.inf is not a finite number/ },
  { name: 'a 20-digit number in a batch', args: ['batch'], input: '{"op":"set","file":"knowledge","key":"n","value":12345678901234567890}\n', code: 3, error: /batch line 1: the number 12345678901234567890 has more digits than a number can keep/ },
  { name: 'a 20-digit number on the command line', args: ['set', 'knowledge', 'n', '12345678901234567890'], code: 3, error: /VALUE: the number 12345678901234567890 has more digits/ },
  { name: 'a 20-digit number in a JSON file', args: ['write', 'notes/n.json'], input: '{"n": 12345678901234567890}\n', code: 3, error: /notes\/n\.json: the number 12345678901234567890/ },
  { name: 'the same number quoted is kept', args: ['set', 'knowledge', 'n', '"12345678901234567890"'], stored: async (d) => expect(git(d, 'show', 'HEAD:knowledge.yaml')).toMatch(/"?n"?: ['"]12345678901234567890['"]/) },
  { name: '-m forging a Gitstate-Op trailer', args: ['set', 'knowledge', 'a', '1', '-m', 'why\n\nGitstate-Op: delete\nGitstate-File: other.yaml'], code: 3, error: /the commit note \(-m\) has a line starting "Gitstate-…:"/ },
  { name: 'malformed JSON holding a token is not quoted', args: ['write', 'notes/j.json'], input: `{"a": ${TOK}}`, code: 3, error: /^gitstate: invalid JSON in the text given for notes\/j\.json: / },
  { name: 'a malformed batch line holding a token is not quoted', args: ['batch'], input: `{"op": "set", "file": "knowledge", "key": "k", "value": "${TOK}}\n`, code: 3, error: /^gitstate: batch line 1 is not valid JSON: a string is not closed/ },
  { name: 'a corrupt state.json holding a token is not quoted', args: ['state', 'get'], setup: async (d) => { await writeFile(join(d, 'state.json'), `{"token": ${TOK}`); byHand(d, 'corrupt'); }, code: 3, error: /state\.json is not valid JSON \(.*\); run "gitstate state reset"/ },
  { name: 'a duplicate token key is not quoted', args: ['write', 'notes/k'], input: `${TOK}: 1\n${TOK}: 2\n`, code: 3, error: /duplicate key "\[redacted\]"/ },
];

/** `npm test`: every eighth case (a spread over every kind); `npm run test:full`: all of them. */
const step = sized(8, 1, 'HOSTILE_STEP');

describe('the hostile trial, through the CLI', () => {
  it('has every case of the issue', () => expect(hostileCases.length).toBeGreaterThanOrEqual(50));

  for (const c of hostileCases.filter((_, i) => i % step === 0)) {
    it.concurrent(`${c.name}: ${c.stored ? 'stored' : `exit ${c.code}`}`, async () => {
      const repo = await tempRepo();
      await c.setup?.(repo.dir);
      const head = headOid(repo.dir);
      const status = git(repo.dir, 'status', '--porcelain');
      const files = await snapshot(repo.dir);

      const r = await cli(c.args, { dir: repo.dir, input: c.input, env: { GITSTATE_AUTHOR_NAME: 'Test', GITSTATE_AUTHOR_EMAIL: 'test@example.com', ...c.env } });

      for (const secret of SECRETS) expect(r.stdout + r.stderr).not.toContain(secret);
      if (c.stored) {
        expect(r.code, r.stderr).toBe(0);
        await c.stored(repo.dir);
        assertRepoHealthy(repo.dir);
        return;
      }
      expect(r.code, r.stderr).toBe(c.code);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(c.error!);
      expect(headOid(repo.dir)).toBe(head);
      expect(git(repo.dir, 'status', '--porcelain')).toBe(status);
      expect(await snapshot(repo.dir)).toEqual(files);
      const temp = join(repo.gitdir, 'gitstate-tmp');
      expect(existsSync(temp) ? readdirSync(temp) : []).toEqual([]);
    });
  }
});

describe('the hostile trial, through MCP', () => {
  async function connect(dir: string) {
    const repo = (await import('../../src/core/repo.js')).StateRepo;
    const state = await StateManager.open(dir, { flushOnExit: false });
    const server = createMcpServer(await repo.open(dir), state);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'hostile', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = (await client.callTool({ name, arguments: args })) as { content: Array<{ text: string }>; isError?: boolean };
      return { text: r.content.map((x) => x.text).join(''), isError: Boolean(r.isError) };
    };
    return { call, state, close: async () => { await client.close(); await state.close(); } };
  }

  it('memory_write with a token in a comment and memory_update on githubToken are refused; state_set __proto__ is kept', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const mcp = await connect(repo.dir);
    const write = await mcp.call('memory_write', { key: 'state/notes', content: `# ${TOK}\na: 1\n` });
    expect(write).toMatchObject({ isError: true, text: expect.stringMatching(/notes\.yaml: line 1: looks like a secret/) });
    const update = await mcp.call('memory_update', { key: 'state/knowledge', path: 'githubToken', value: 'abc123def' });
    expect(update).toMatchObject({ isError: true, text: expect.stringMatching(/githubToken: looks like a secret/) });
    for (const r of [write, update]) expect(r.text).not.toContain(TOK);
    expect(headOid(repo.dir)).toBe(head);
    expect((await mcp.call('state_set', { key: '__proto__.polluted', value: 1 })).isError).toBe(false);
    await mcp.state.flush();
    expect(JSON.parse(git(repo.dir, 'show', 'HEAD:state.json'))).toEqual(JSON.parse('{"__proto__": {"polluted": 1}}'));
    await mcp.close();
  });
});
