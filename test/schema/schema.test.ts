import { describe, expect, it } from 'vitest';
import { validateContent } from '../../src/schema/validate.js';
import { compileUserSchema } from '../../src/schema/compile.js';
import { SchemaError } from '../../src/errors.js';

function error(path: string, value: unknown, user = [] as ReturnType<typeof compileUserSchema>[]): string {
  try {
    validateContent(path, value, user);
  } catch (err) {
    expect(err).toBeInstanceOf(SchemaError);
    return (err as Error).message;
  }
  throw new Error('expected a SchemaError');
}

describe('built-in schemas', () => {
  it('accepts real-world current_work with extra fields and both timestamp forms', () => {
    expect(() =>
      validateContent('current_work.yaml', {
        active_issue: 'AAP-1',
        active_issues: [
          { key: 'AAP-1', summary: 's', branch: 'b', status: 'Open', started: '2026-01-21 15:54:19', repo: 'x', notes: 'n' },
          { key: 'AAP-2', started: new Date('2026-01-21T00:00:00Z') },
        ],
        active_branches: [{ name: 'feature/x', issue: 'AAP-1', created: '2026-01-21T15:54:19Z', last_commit: 'abc' }],
        open_mrs: [{ id: 1, status: 'open' }],
        last_updated: '2026-01-21 15:54:19',
      }),
    ).not.toThrow();
    expect(() => validateContent('current_work.yaml', null)).not.toThrow();
  });

  it('names the key path and what was expected', () => {
    expect(error('current_work.yaml', { active_issues: [{ key: ['AAP-1'] }] })).toBe('current_work.yaml: active_issues[0].key: expected string, received array (schema)');
    expect(error('current_work.yaml', { active_branches: [{ issue: 'x' }] })).toMatch(/active_branches\[0\]\.name: expected (string|a string or a number)/);
    expect(error('current_work.yaml', { active_issues: [{ key: 'A', started: 'yesterday' }] })).toMatch(
      /active_issues\[0\]\.started: expected a timestamp/,
    );
  });

  it("accepts what the seed's tools write: started: \"\", a numeric key, null fields", () => {
    const issue = { key: 4711, summary: null, branch: null, status: null, started: '' };
    expect(() => validateContent('current_work.yaml', { active_issues: [issue], active_branches: [{ name: 12, created: '', issue: null }] })).not.toThrow();
    expect(() => validateContent('environments.yaml', { dev: { namespace: null, reserved_until: '', deployed_apps: [{ name: 'api', image: null }], last_deploy: null } })).not.toThrow();
  });

  it('still rejects what is really wrong', () => {
    expect(error('current_work.yaml', { active_issues: { key: 'AAP-1' } })).toMatch(/active_issues: expected array, received object/);
    expect(error('current_work.yaml', { active_issues: ['AAP-1'] })).toMatch(/active_issues\[0\]: expected object/);
    expect(error('current_work.yaml', { active_issues: [{ summary: 'no key' }] })).toMatch(/active_issues\[0\]\.key/);
    expect(error('current_work.yaml', { active_issues: [{ key: 'A', started: 'yesterday' }] })).toMatch(/started: expected a timestamp/);
    expect(error('environments.yaml', { dev: { deployed_apps: 'api' } })).toMatch(/deployed_apps/);
  });

  it('environments: flat or nested under environments:, scalars beside them allowed', () => {
    const env = { namespace: 'dev', reserved_until: '2026-12-01', deployed_apps: [{ name: 'api', image: 'api:1' }], last_deploy: '2026-11-01 10:00:00' };
    expect(() => validateContent('environments.yaml', { dev: env, last_updated: '2026-01-01' })).not.toThrow();
    expect(() => validateContent('environments.yaml', { environments: { dev: env } })).not.toThrow();
    expect(error('environments.yaml', { dev: { namespace: 42 } })).toMatch(/^environments\.yaml: dev\.namespace: expected string/);
    expect(error('environments.yaml', { environments: { dev: { deployed_apps: [{ image: 'x' }] } } })).toMatch(
      /environments\.dev\.deployed_apps\[0\]\.name/,
    );
  });

  it('knowledge and shared_context must be maps', () => {
    expect(() => validateContent('knowledge.yaml', { a: [1] })).not.toThrow();
    expect(error('knowledge.yaml', ['a'])).toMatch(/knowledge\.yaml: \(top level\)/);
    expect(error('shared_context.yaml', 'text')).toMatch(/shared_context\.yaml/);
  });

  it('projects/*/current_work.yaml', () => {
    expect(() => validateContent('projects/api/current_work.yaml', { branch: 'main', last_test_run: '2026-11-24T10:00:00Z', test_status: 'passed' })).not.toThrow();
    expect(error('projects/api/current_work.yaml', { test_status: false })).toMatch(/test_status: expected string/);
  });

  it('state.json', () => {
    expect(() => validateContent('state.json', { sessions: { s1: { persona: 'developer' } }, persona: 'dev', tools: ['a'], extra: 1 })).not.toThrow();
    expect(error('state.json', { tools: 'a' })).toMatch(/tools: expected array/);
  });

  it('.gitstate/sync.yaml: strategies, rules, auto and identity as sync reads them', () => {
    expect(() => validateContent('.gitstate/sync.yaml', { auto: true, auto_delay_ms: 500, strategy: 'ours', rules: { 'knowledge.yaml': 'theirs' }, identity: { 'current_work.yaml': { open_mrs: 'mr' } } })).not.toThrow();
    expect(error('.gitstate/sync.yaml', { stratgy: 'manual' })).toMatch(/Unrecognized key: "stratgy"/);
    expect(error('.gitstate/sync.yaml', { auto_delay_ms: 1e12 })).toMatch(/auto_delay_ms: expected at most 3600000/);
    expect(() => validateContent('.gitstate/sync.yaml', null)).not.toThrow();
    expect(error('.gitstate/sync.yaml', { strategy: 'bogus' })).toBe('.gitstate/sync.yaml: strategy: expected a strategy: newest, ours, theirs, manual (schema)');
    expect(error('.gitstate/sync.yaml', { rules: { 'knowledge.yaml': 'whatever' } })).toMatch(/rules\["knowledge\.yaml"\]: expected a strategy/);
    expect(error('.gitstate/sync.yaml', { auto: 'maybe' })).toMatch(/auto: expected boolean/);
    expect(error('.gitstate/sync.yaml', { identity: { 'current_work.yaml': 'mr' } })).toMatch(/identity\["current_work\.yaml"\]: expected record/);
  });

  it('other files only need to be valid YAML', () => {
    expect(() => validateContent('notes/today.yaml', ['anything', 1, null])).not.toThrow();
  });
});

describe('user schemas (JSON Schema in .gitstate/schemas)', () => {
  const schema = compileUserSchema(
    {
      'x-gitstate-files': ['notes/*.yaml'],
      type: 'object',
      properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['title'],
    },
    '.gitstate/schemas/note.schema.json',
  );

  it('applies to matching files only', () => {
    expect(schema.matches('notes/today.yaml')).toBe(true);
    expect(schema.matches('notes/deep/today.yaml')).toBe(false);
    expect(schema.matches('knowledge.yaml')).toBe(false);
  });

  it('rejects content that breaks it, naming the key path and the schema file', () => {
    expect(() => validateContent('notes/today.yaml', { title: 'x', extra: true }, [schema])).not.toThrow();
    expect(error('notes/today.yaml', { title: 'x', tags: [1] }, [schema])).toBe(
      'notes/today.yaml: tags[0]: expected string, received number (schema .gitstate/schemas/note.schema.json)',
    );
  });

  it('a schema without x-gitstate-files is refused', () => {
    expect(() => compileUserSchema({ type: 'object' }, 'x.json')).toThrow(/x-gitstate-files/);
  });
});
