import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileAllowList, findSecret } from '../../src/security/secrets.js';
import { SecretError } from '../../src/errors.js';
import { assertRepoHealthy, cleanupTempDirs, cli, headOid, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

// Built at run time so no credential-shaped literal sits in the repository.
const fake = {
  privateKey: ['-----BEGIN', 'RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'].join(' '),
  github: 'ghp' + '_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
  githubPat: 'github' + '_pat_' + '11ABCDEFG0123456789_abcdefghijklmnop',
  gitlab: 'glpat' + '-' + 'xYz123AbC456dEf789gH',
  aws: 'AKIA' + 'IOSFODNN7EXAMPLE',
  slack: 'xoxb' + '-123456789012-abcdefABCDEF',
  jwt: ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join('.'),
};

describe('findSecret', () => {
  it.each([
    ['private key', { notes: { key: fake.privateKey } }, 'notes.key', 'private-key'],
    ['GitHub token', { ci: [{ value: fake.github }] }, 'ci[0].value', 'github-token'],
    ['GitHub fine-grained token', { t: `Bearer ${fake.githubPat}` }, 't', 'github-token'],
    ['GitLab token', { x: fake.gitlab }, 'x', 'gitlab-token'],
    ['AWS access key', { aws: { id: fake.aws } }, 'aws.id', 'aws-access-key'],
    ['Slack token', { slack: fake.slack }, 'slack', 'slack-token'],
    ['JWT', { session: fake.jwt }, 'session', 'jwt'],
    ['password key', { db: { password: 'hunter2' } }, 'db.password', 'key-name "password"'],
    ['api_key key', { service: { api_key: 'abc' } }, 'service.api_key', 'key-name "api_key"'],
    ['client-secret key', { oauth: { 'client-secret': 'abc' } }, 'oauth.client-secret', 'key-name "client-secret"'],
  ])('finds a %s and names the key path and rule', (_name, value, key, rule) => {
    expect(findSecret('f.yaml', value)).toEqual({ file: 'f.yaml', key, rule });
  });

  it.each([
    ['empty password', { password: '' }],
    ['placeholder password', { password: '${DB_PASSWORD}' }],
    ['redacted token', { token: '<redacted>' }],
    ['numbers under token-ish keys', { max_tokens: 4096, tokens: 'many' }],
    ['ordinary text', { summary: 'rotate the token every month', sha: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3' }],
  ])('lets %s through', (_name, value) => {
    expect(findSecret('f.yaml', value)).toBeNull();
  });

  it('honours the allow-list per file and key path', () => {
    const allow = compileAllowList({ knowledge: ['docs.password', 'examples[*].token'] });
    expect(findSecret('knowledge.yaml', { docs: { password: 'explained here' } }, allow)).toBeNull();
    expect(findSecret('knowledge.yaml', { examples: [{ token: 'a' }, { token: 'b' }] }, allow)).toBeNull();
    expect(findSecret('knowledge.yaml', { other: { password: 'hunter2' } }, allow)).not.toBeNull();
    expect(findSecret('shared_context.yaml', { docs: { password: 'hunter2' } }, allow)).not.toBeNull();
  });
});

describe('the guard on every commit path', () => {
  it('rejects a secret in set, append, write and batch: exit 3, value never printed, nothing written', async () => {
    const repo = await tempRepo();
    const head = headOid(repo.dir);
    const before = await readFile(join(repo.dir, 'knowledge.yaml'));
    const attempts: Array<[string[], string?]> = [
      [['set', 'knowledge', 'ci.token_value', fake.github]],
      [['append', 'knowledge', 'keys', fake.aws]],
      [['write', 'knowledge'], `deploy:\n  password: hunter2\n`],
      [['batch', '--atomic'], `${JSON.stringify({ op: 'set', file: 'knowledge', key: 'ok', value: 1 })}\n${JSON.stringify({ op: 'set', file: 'knowledge', key: 'jwt', value: fake.jwt })}\n`],
    ];
    for (const [args, input] of attempts) {
      const r = await cli(args, { dir: repo.dir, input });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/looks like a secret \(rule /);
      for (const secret of Object.values(fake)) expect(r.stderr).not.toContain(secret.slice(0, 12));
      expect(headOid(repo.dir)).toBe(head);
      expect(await readFile(join(repo.dir, 'knowledge.yaml'))).toEqual(before);
    }
    assertRepoHealthy(repo.dir);
  });

  it('the allow-list file in the repo lets a false positive through', async () => {
    const repo = await tempRepo();
    await expect(repo.set('knowledge', 'docs.password', 'see the vault')).rejects.toThrow(SecretError);
    await repo.write('.gitstate/secrets-allow.yaml', 'knowledge.yaml:\n  - docs.password\n');
    await repo.set('knowledge', 'docs.password', 'see the vault');
    expect(await repo.get('knowledge', 'docs.password')).toBe('see the vault');
  });

  it('hand edits with a secret are never committed by a later write', async () => {
    const repo = await tempRepo();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(repo.dir, 'shared_context.yaml'), `token: ${fake.gitlab}\n`);
    const head = headOid(repo.dir);
    await expect(repo.set('shared_context', 'x', 1)).rejects.toThrow(SecretError);
    expect(headOid(repo.dir)).toBe(head);
  });
});
