/**
 * The secret guard, as tables: what the content rules find (and what they let
 * through), which keys are sensitive, what a value scan reports, and the
 * commit guard on the write path (a commit may not add a secret its parents
 * did not hold; one they held is reported and blocks nothing).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileAllowList, findSecret, findSecrets, isSensitiveKey, redactText, scanFile, scanText } from '../../src/security/secrets.js';
import { BASE64_PEM_SIGNATURES } from '../../src/security/rules.js';
import { scanLine } from '../../src/security/scan.js';
import { SecretError } from '../../src/errors.js';
import { StateManager } from '../../src/state/manager.js';
import { History } from '../../src/history/history.js';
import { assertRepoHealthy, cleanupTempDirs, git, headOid, tempRepo } from '../helpers/repo.js';
import { tokens as T, type TokenName } from './tokens.js';

afterAll(cleanupTempDirs);

const byHand = (dir: string, message: string) => git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', message);

// ---- content rules: [case, text, rule or null] --------------------------------
const contentCases: Array<[string, string, string | null]> = [
  ...(
    [
      ['github', 'github-token'],
      ['githubOauth', 'github-token'],
      ['githubPat', 'github-token'],
      ['gitlab', 'gitlab-token'],
      ['aws', 'aws-access-key'],
      ['awsSecretLine', 'aws-secret-key'],
      ['slack', 'slack-token'],
      ['slackWebhook', 'slack-webhook'],
      ['google', 'google-api-key'],
      ['googleSecret', 'google-oauth-secret'],
      ['googleToken', 'google-oauth-token'],
      ['stripe', 'stripe-key'],
      ['npm', 'npm-token'],
      ['pypi', 'pypi-token'],
      ['huggingface', 'huggingface-token'],
      ['anthropic', 'anthropic-key'],
      ['openai', 'openai-key'],
      ['sendgrid', 'sendgrid-key'],
      ['jwt', 'jwt'],
      ['postgres', 'connection-string'],
      ['mongo', 'connection-string'],
      ['adoNet', 'connection-string'],
      ['pem', 'private-key'],
      ['pemBase64', 'private-key-base64'],
    ] as Array<[TokenName, string]>
  ).map(([name, rule]): [string, string, string] => [`${name} in a value`, `x: ${T[name]}\n`, rule]),
  ['a token in a comment', `# deploy with ${T.github}\na: 1\n`, 'github-token'],
  ['a token as a key', `${T.gitlab}: 1\n`, 'gitlab-token'],
  ['a token after an underscore', `id: build_${T.github}\n`, 'github-token'],
  ['a token in a URL query', `url: https://api.example.com/?key=${T.google}\n`, 'google-api-key'],
  ['a PEM in a block scalar', `key: |\n  ${T.pem.split('\n').join('\n  ')}\n`, 'private-key'],
  ['base64 PEM wrapped over lines (!!binary)', `k: !!binary |\n  ${T.pemBase64.match(/.{1,60}/g)!.join('\n  ')}\n`, 'private-key-base64'],
  ['base64 PEM after a prefix byte', `k: ${Buffer.concat([Buffer.from('x'), Buffer.from(T.pem)]).toString('base64')}\n`, 'private-key-base64'],
  ['an OpenSSH private key', `k: "-----BEGIN OPENSSH PRIVATE KEY-----"\n`, 'private-key'],
  ['an encrypted private key', `k: "-----BEGIN ENCRYPTED PRIVATE KEY-----"\n`, 'private-key'],
  ['a PGP private key block', `k: "-----BEGIN PGP PRIVATE KEY BLOCK-----"\n`, 'private-key'],
  ['a password in a redis URL', `redis: ${['redis://', ':', 'hunter2hunter2', '@cache:6379'].join('')}\n`, 'connection-string'],
  ['a public key', `k: "-----BEGIN PUBLIC KEY-----"\n`, null],
  ['a certificate', `k: "-----BEGIN CERTIFICATE-----"\n`, null],
  ['a git sha', 'sha: a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\n', null],
  ['a uuid', 'id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301\n', null],
  ['a too-short ghp_ word', 'x: ghp_short\n', null],
  ['a URL without a password', 'url: https://user@example.com/path\n', null],
  ['a URL with a placeholder password', `db: ${['postgres://app:', '${DB_PASSWORD}', '@db/app'].join('')}\n`, null],
  ['a URL with a masked password', `db: ${['postgres://app:', '***', '@db/app'].join('')}\n`, null],
  ['a time that looks like user:pass@', 'at: meet 10:30@room5\n', null],
  ['prose about tokens', 'note: rotate the token every month; the API key lives in the vault\n', null],
  ['base64 of ordinary text', `blob: ${Buffer.from('just some ordinary text, nothing to see here').toString('base64')}\n`, null],
  ['an AWS-looking word in lowercase', 'x: akiaiosfodnn7example\n', null],
  ['password= outside a connection string', 'cli: "use --password=... on the command line"\n', null],
];

describe('content rules', () => {
  it.each(contentCases)('%s', (_name, text, rule) => {
    const found = scanText(text);
    if (rule === null) expect(found.map((f) => f.rule)).toEqual([]);
    else expect(found.map((f) => f.rule)).toContain(rule);
    for (const f of found) expect(f.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('base64 signatures match each byte alignment of "-----BEGIN"', () => {
    for (let offset = 0; offset < 3; offset++) {
      const encoded = Buffer.concat([Buffer.alloc(offset, 0x41), Buffer.from('-----BEGIN RSA PRIVATE KEY-----')]).toString('base64');
      expect(BASE64_PEM_SIGNATURES.some((s) => encoded.includes(s)), `offset ${offset}`).toBe(true);
    }
  });

  it('redaction removes every match and keeps the rest', () => {
    const text = `notes/${T.github}.yaml and ${T.postgres}`;
    const out = redactText(text);
    expect(out).not.toContain(T.github);
    expect(out).not.toContain('Sup3rS3cretPw');
    expect(out).toContain('notes/[redacted].yaml');
    expect(out).toContain('postgres://app:[redacted]@db.internal');
  });

  it('a private key is redacted whole, its body too, ended or cut off', () => {
    const body = 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn';
    expect(redactText(`before ${T.pem} after`)).toBe('before [redacted]\n after');
    expect(redactText(`key: ${T.pem.slice(0, 60)}`)).toBe('key: [redacted]');
    expect(redactText(T.pem)).not.toContain(body);
  });
});

// ---- key names: [key, sensitive] -----------------------------------------------
const keyCases: Array<[string, boolean]> = [
  ['password', true],
  ['db_password', true],
  ['dbPassword', true],
  ['DB_PASSWORD', true],
  ['db-password', true],
  ['db.password', true],
  ['passwd', true],
  ['passphrase', true],
  ['secret', true],
  ['client_secret', true],
  ['clientSecret', true],
  ['api_key', true],
  ['apiKey', true],
  ['APIKey', true],
  ['x-api-key', true],
  ['apikey', true],
  ['private_key', true],
  ['access_key', true],
  ['AWS_SECRET_ACCESS_KEY', true],
  ['auth_token', true],
  ['githubToken', true],
  ['credentials', true],
  ['token_count', false],
  ['tokensUsed', false],
  ['max_tokens', false],
  ['tokens', false],
  ['password_min_length', false],
  ['auth_retries', false],
  ['primary_key', false],
  ['key', false],
  ['secret_name', false],
  ['passwordHash', false],
  ['tokenizer', false],
  ['keyboard', false],
];

describe('remembered findings of short texts', () => {
  it('a short text scanned again gives the same findings, and a caller changing them changes nothing', () => {
    const texts = [`${T.github}`, 'counters', `x ${T.aws} y`, 'plain words', T.jwt];
    const first = texts.map((t) => scanLine(t));
    first.forEach((f) => f.splice(0)); // callers get their own list
    for (const t of texts) expect(scanLine(t)).toEqual(scanText(t).map(({ line: _line, ...f }) => f));
    expect(scanLine(T.github).map((f) => f.rule)).toEqual(scanText(T.github).map((f) => f.rule));
    expect(scanLine(T.github).length).toBeGreaterThan(0);
  });
});

describe('key names', () => {
  it.each(keyCases)('%s is sensitive: %s', (key, sensitive) => expect(isSensitiveKey(key)).toBe(sensitive));
});

// ---- values: [case, value, expected key path or null] -------------------------
const valueCases: Array<[string, unknown, string | null]> = [
  ['a string under a password key', { db: { password: 'hunter2' } }, 'db.password'],
  ['a number under a password key', { db: { password: 84736251 } }, 'db.password'],
  ['camelCase', { dbPassword: 'hunter2' }, 'dbPassword'],
  ['a map under a password key, generic leaf', { password: { value: 'hunter2' } }, 'password.value'],
  ['a list under a secrets key', { secrets: ['a1', 'b2'] }, 'secrets[1]'],
  ['a list of maps under a token key', { token: [{ name: 'ci', value: 'zzz' }] }, 'token[0].value'],
  ['a sensitive leaf deep under a normal key', { services: { api: { auth: { client_secret: 'abc' } } } }, 'services.api.auth.client_secret'],
  ['binary under a key', { k: Buffer.from(T.pem) }, 'k'],
  ['a token as a nested key', { a: { [T.slack]: 1 } }, 'a["[redacted]"]'],
  ['a token in a list item', { l: ['ok', T.npm] }, 'l[1]'],
  ['the health record of the original system', { health_checks: { gitlab_token: { healthy: false, details: 'GitLab check failed: 401', last_checked: '2026-01-21 15:54:19' } } }, null],
  ['a boolean under a token key', { token: true }, null],
  ['null under a password key', { password: null }, null],
  ['a timestamp under a token key', { token: '2026-01-21T15:54:19Z' }, null],
  ['a Date under a secret key', { secret: new Date('2026-01-21') }, null],
  ['an empty password', { password: '' }, null],
  ['a placeholder password', { password: '${DB_PASSWORD}' }, null],
  ['an ellipsis for a password', { password: '\u2026' }, null],
  ['a redacted token', { token: '<redacted>' }, null],
  ['a vault reference', { password: 'vault:secret/data/db' }, null],
  ['numbers under token-ish keys', { max_tokens: 4096, tokens: 'many', token_count: 12 }, null],
  ['ordinary text', { summary: 'rotate the token every month', sha: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3' }, null],
  ['a non-generic leaf under a sensitive map', { password: { policy: 'rotate monthly', min_length: 12 } }, null],
];

describe('value scan', () => {
  it.each(valueCases)('%s', (_name, value, key) => {
    const hit = findSecret('f.yaml', value);
    if (key === null) expect(hit).toBeNull();
    else expect(hit?.key).toBe(key);
  });

  it('a duplicate-looking key cannot hide a value: the raw text is scanned', () => {
    const text = `1: ${T.github}\n"1": safe\n`;
    expect(scanFile('notes/d.yaml', Buffer.from(text)).map((f) => f.rule)).toEqual(['github-token']);
  });

  it('escapes are seen through: the parsed value is scanned too', () => {
    const escaped = T.github.replace('p', '\\x70');
    expect(scanFile('notes/e.yaml', Buffer.from(`t: "${escaped}"\n`)).map((f) => f.rule)).toEqual(['github-token']);
    expect(scanFile('notes/e.json', Buffer.from(`{"db": {"pass\\u0077ord": "hunter2"}}`)).map((f) => f.key)).toEqual(['db.password']);
  });

  it('a finding never carries the value', () => {
    const found = [...scanFile('k.yaml', Buffer.from(`password: hunter2\nt: ${T.github}\n`)), ...findSecrets('k.yaml', { password: 'hunter2' })];
    for (const f of found) expect(JSON.stringify(f)).not.toMatch(/hunter2|a1B2c3D4e5/);
  });
});

describe('allow-list', () => {
  it('by file and key path (with * for one key or index)', () => {
    const allow = compileAllowList({ knowledge: ['docs.password', 'examples[*].token'] });
    expect(findSecret('knowledge.yaml', { docs: { password: 'explained here' } }, allow)).toBeNull();
    expect(findSecret('knowledge.yaml', { examples: [{ token: 'a' }, { token: 'b' }] }, allow)).toBeNull();
    expect(findSecret('knowledge.yaml', { other: { password: 'hunter2' } }, allow)).not.toBeNull();
    expect(findSecret('shared_context.yaml', { docs: { password: 'hunter2' } }, allow)).not.toBeNull();
  });

  it('by fingerprint, in one file or everywhere ("*")', () => {
    const [finding] = scanText(`# build id ${T.github}\n`);
    const inFile = compileAllowList({ 'notes/a': [`fp:${finding!.fingerprint}`] });
    expect(inFile.allowsFinding('notes/a.yaml', finding!)).toBe(true);
    expect(inFile.allowsFinding('notes/b.yaml', finding!)).toBe(false);
    expect(inFile.allowsFinding(null, finding!)).toBe(false);
    const everywhere = compileAllowList({ '*': [`fp:${finding!.fingerprint}`] });
    expect(everywhere.allowsFinding(null, finding!)).toBe(true);
    expect(everywhere.allowsFinding('notes/b.yaml', finding!)).toBe(true);
  });
});

// ---- the guard on the write path ---------------------------------------------------
describe('the commit guard', () => {
  it('refuses on every library path: set, append, merge, write, transaction, commitFiles, rollback, revert, StateManager', async () => {
    const repo = await tempRepo();
    // a commit that removed a secret: rolling back to it, or reverting the removal, would add it again
    await writeFile(join(repo.dir, 'knowledge.yaml'), `old: ${T.aws}\n`);
    byHand(repo.dir, 'a secret by hand');
    const withSecret = headOid(repo.dir);
    await repo.delete('knowledge', 'old');
    const removal = headOid(repo.dir);
    const history = new History(repo);
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['set', () => repo.set('knowledge', 'ci.token', T.github)],
      ['append', () => repo.append('knowledge', 'keys', T.aws)],
      ['merge', () => repo.merge('knowledge', undefined, { deploy: { password: 'hunter2' } })],
      ['write', () => repo.write('notes/x', `# ${T.slack}\na: 1\n`)],
      ['transaction', () => repo.transaction(async (tx) => { await tx.set('knowledge', 'ok', 1); await tx.set('shared_context', 'jwt', T.jwt); })],
      ['commitFiles', () => repo.commitFiles([{ path: 'notes/y.yaml', content: Buffer.from(`k: ${T.stripe}\n`) }], { op: 'write' })],
      ['rollback', () => history.rollback('knowledge', withSecret)],
      ['revert', () => history.revert(removal)],
      ['StateManager set', async () => (state.set('tools_config.api_key', 'sk-live-123'), state.flush())],
      ['a note', () => repo.set('knowledge', 'a', 1, { message: `token ${T.npm}` })],
      ['a file name', () => repo.set(`notes/${T.github}`, 'a', 1)],
    ];
    const head = headOid(repo.dir);
    for (const [name, attempt] of attempts) {
      const err = await attempt().then(() => null, (e: unknown) => e);
      expect(err, name).toBeInstanceOf(SecretError);
      expect((err as Error).message, name).toMatch(/looks like a secret \(rule [a-z0-9-]+, fingerprint fp:[0-9a-f]{16}\)/);
      for (const secret of [T.github, T.aws, T.slack, T.jwt, T.stripe, T.npm, 'hunter2', 'sk-live-123']) expect((err as Error).message).not.toContain(secret);
      expect(headOid(repo.dir), name).toBe(head);
    }
    state.delete('tools_config');
    await state.close();
    assertRepoHealthy(repo.dir);
  });

  it('a secret a parent already held is reported, and writes to the rest of the file go on', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'knowledge.yaml'), `remote_secret: ${T.github}\nother: 1\n`);
    byHand(repo.dir, 'pulled from elsewhere');
    const added = headOid(repo.dir);
    const result = await repo.set('knowledge', 'other', 2);
    expect(result.changed).toBe(true);
    expect(result.secrets).toEqual([{ file: 'knowledge.yaml', where: 'remote_secret', rule: 'github-token', fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), commit: added }]);
    expect(JSON.stringify(result)).not.toContain(T.github);
    // but not a second copy, elsewhere in the file or in another file
    await expect(repo.set('knowledge', 'copy', T.github)).resolves.toMatchObject({ changed: true });
    await expect(repo.set('shared_context', 'copy', T.github)).rejects.toThrow(SecretError);
    // and not a changed password under the same key
    await writeFile(join(repo.dir, 'knowledge.yaml'), `${await readFile(join(repo.dir, 'knowledge.yaml'), 'utf8')}db_password: hunter2\n`);
    byHand(repo.dir, 'a password by hand');
    await repo.set('knowledge', 'other', 3);
    await expect(repo.set('knowledge', 'db_password', 'hunter3')).rejects.toThrow(/db_password: looks like a secret/);
    // found by a rule for the text too (key and value on one line): still named by its key path, which the allow-list takes
    const [awsKey, awsValue] = T.awsSecretLine.split(' = ') as [string, string];
    await expect(repo.set('knowledge', `cloud.${awsKey}`, awsValue)).rejects.toThrow(/^knowledge\.yaml: cloud\.aws_secret_access_key: looks like a secret \(rule [a-z-]+, fingerprint fp:[0-9a-f]{16}\) and 1 more;/);
    // deleting the secret works, and the commit message does not copy it
    const removed = await repo.delete('knowledge', 'remote_secret');
    expect(git(repo.dir, 'log', '-1', '--format=%B', removed.commit)).not.toContain(T.github);
    assertRepoHealthy(repo.dir);
  });

  it('a key that is a token already held can be deleted: the message redacts it', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'knowledge.yaml'), `${T.gitlab}: 1\n`);
    byHand(repo.dir, 'pulled');
    const r = await repo.delete('knowledge', T.gitlab);
    const message = git(repo.dir, 'log', '-1', '--format=%B', r.commit);
    expect(message).toContain('delete knowledge.yaml [redacted]');
    expect(message).toContain('Gitstate-Key: [redacted]');
    expect(message).not.toContain(T.gitlab);
  });

  it('the allow-list file in the repo lets a false positive through, also when written in the same commit', async () => {
    const repo = await tempRepo();
    await expect(repo.set('knowledge', 'docs.password', 'see the vault')).rejects.toThrow(SecretError);
    await repo.write('.gitstate/secrets-allow.yaml', 'knowledge.yaml:\n  - docs.password\n');
    await repo.set('knowledge', 'docs.password', 'see the vault');
    expect(await repo.get('knowledge', 'docs.password')).toBe('see the vault');
    const [finding] = scanText(`x ${T.github}`);
    await repo.transaction(async (tx) => {
      await tx.write('.gitstate/secrets-allow.yaml', `knowledge.yaml:\n  - docs.password\n"*":\n  - fp:${finding!.fingerprint}\n`);
      await tx.write('notes/ids', `# build ${T.github}\na: 1\n`);
    });
    expect(await repo.readText('notes/ids')).toContain(T.github);
  });

  it('hand edits with a secret are never committed by a later write', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'shared_context.yaml'), `token: ${T.gitlab}\n`);
    const head = headOid(repo.dir);
    await expect(repo.set('shared_context', 'x', 1)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/token: looks like a secret/) });
    expect(headOid(repo.dir)).toBe(head);
  });

  it('a merge holding a secret from its other parent is not refused', async () => {
    const repo = await tempRepo();
    const base = headOid(repo.dir);
    git(repo.dir, 'checkout', '-qb', 'other');
    await writeFile(join(repo.dir, 'knowledge.yaml'), `remote_secret: ${T.github}\n`);
    byHand(repo.dir, 'theirs');
    const theirs = headOid(repo.dir);
    git(repo.dir, 'checkout', '-q', 'main');
    expect(headOid(repo.dir)).toBe(base);
    const merged = await repo.commitFiles([{ path: 'knowledge.yaml', content: Buffer.from(`remote_secret: ${T.github}\n`) }], { op: 'sync-merge', subject: 'merge' }, { otherParents: [theirs] });
    expect(merged.changed).toBe(true);
    expect(merged.secrets?.[0]).toMatchObject({ file: 'knowledge.yaml', rule: 'github-token', commit: theirs });
    assertRepoHealthy(repo.dir);
  });

  it('has at least 60 cases in its tables', () => {
    expect(contentCases.length + keyCases.length + valueCases.length).toBeGreaterThanOrEqual(60);
  });
});
