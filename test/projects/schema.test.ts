/** The schemas project routing relies on: projects/*\/current_work.yaml and current_project in state.json. */
import { describe, expect, it } from 'vitest';
import { validateContent } from '../../src/schema/validate.js';

const ok = (path: string, value: unknown) => expect(() => validateContent(path, value), JSON.stringify(value)).not.toThrow();
const bad = (path: string, value: unknown, message: RegExp) => expect(() => validateContent(path, value)).toThrow(message);

describe('projects/<name>/current_work.yaml', () => {
  const path = 'projects/backend/current_work.yaml';
  it("is current_work's schema plus the project fields", () => {
    ok(path, null);
    ok(path, { branch: 'main', last_test_run: '2026-12-01T10:00:00Z', test_status: 'passed' });
    ok(path, { branch: 'main', active_issues: [{ key: 'AAP-1', status: 'Open', repo: 'backend', notes: 'x' }], active_branches: [{ name: 'feature/x' }], extra: 1 });
    bad(path, { active_issues: [{ summary: 'no key' }] }, /projects\/backend\/current_work\.yaml: active_issues\[0\]\.key/);
    bad(path, { active_branches: [{ issue: 'AAP-1' }] }, /active_branches\[0\]\.name/);
    bad(path, { last_test_run: 'yesterday' }, /last_test_run: expected a timestamp/);
    bad(path, { branch: ['main'] }, /branch/);
  });
});

describe('state.json current_project', () => {
  it('is a project name: one folder name', () => {
    ok('state.json', { current_project: 'backend' });
    ok('state.json', { current_project: null });
    bad('state.json', { current_project: 'a/b' }, /state\.json: current_project: expected a project name/);
    bad('state.json', { current_project: '..' }, /current_project/);
    bad('state.json', { current_project: 7 }, /current_project/);
  });
});
