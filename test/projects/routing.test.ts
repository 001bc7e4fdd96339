/**
 * Project routing: which file `current_work` means, in both modes (no project:
 * the root file; a project: projects/<name>/current_work.yaml), through the
 * library and the CLI, with the documented precedence.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { currentProject, routeFile } from '../../src/projects/routing.js';
import { StateManager } from '../../src/state/manager.js';
import { assertRepoHealthy, cleanupTempDirs, cli, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

async function repoWithProjects() {
  const repo = await tempRepo();
  await repo.set('projects/backend/current_work', 'branch', 'feature/be');
  await repo.set('projects/frontend/current_work', 'branch', 'feature/fe');
  return repo;
}

describe('routeFile', () => {
  it('precedence: argument, then GITSTATE_PROJECT, then current_project; root reaches the root file; other files are as given', async () => {
    const repo = await repoWithProjects();
    const none = { env: {} };
    expect(routeFile(repo.dir, 'current_work', none)).toBe('current_work.yaml');
    expect(routeFile(repo.dir, 'state/current_work', { ...none, project: 'backend' })).toBe('projects/backend/current_work.yaml');
    expect(routeFile(repo.dir, 'current_work.yaml', { env: { GITSTATE_PROJECT: 'frontend' } })).toBe('projects/frontend/current_work.yaml');
    expect(routeFile(repo.dir, 'current_work', { env: { GITSTATE_PROJECT: 'frontend' }, project: 'backend' })).toBe('projects/backend/current_work.yaml');
    expect(routeFile(repo.dir, 'current_work', { ...none, currentProject: () => 'backend' })).toBe('projects/backend/current_work.yaml');
    expect(routeFile(repo.dir, 'current_work', { env: { GITSTATE_PROJECT: 'frontend' }, currentProject: () => 'backend' })).toBe('projects/frontend/current_work.yaml');
    expect(routeFile(repo.dir, 'current_work', { env: { GITSTATE_PROJECT: 'frontend' }, root: true })).toBe('current_work.yaml');
    expect(routeFile(repo.dir, 'knowledge', { ...none, project: 'backend' })).toBe('knowledge.yaml');
    expect(routeFile(repo.dir, 'projects/frontend/current_work', { ...none, project: 'backend' })).toBe('projects/frontend/current_work.yaml');
    expect(currentProject(repo.dir, { env: { GITSTATE_PROJECT: 'frontend' } })).toEqual({ name: 'frontend', source: 'env' });
  });

  it('refuses bad names, a missing project, and both project and root', async () => {
    const repo = await repoWithProjects();
    expect(() => routeFile(repo.dir, 'current_work', { env: {}, project: '../x' })).toThrow(/not a project name/);
    expect(() => routeFile(repo.dir, 'current_work', { env: { GITSTATE_PROJECT: 'a/b' } })).toThrow(/GITSTATE_PROJECT: "a\/b" is not a project name/);
    expect(() => routeFile(repo.dir, 'current_work', { env: {}, project: 'nope' })).toThrow(/project "nope" does not exist: no folder projects\/nope\//);
    expect(() => routeFile(repo.dir, 'current_work', { env: {}, project: 'backend', root: true })).toThrow(/either a project or root/);
  });

  it('a state.json that is not JSON cannot say which project is current: an error naming the way out, only where it matters', async () => {
    const repo = await repoWithProjects();
    await writeFile(join(repo.dir, 'state.json'), '{broken');
    expect(() => routeFile(repo.dir, 'current_work', { env: {} })).toThrow(/cannot tell the current project: state\.json is not valid JSON; run "gitstate state reset"/);
    expect(routeFile(repo.dir, 'current_work', { env: {}, root: true })).toBe('current_work.yaml');
    expect(routeFile(repo.dir, 'current_work', { env: {}, project: 'backend' })).toBe('projects/backend/current_work.yaml');
    expect(routeFile(repo.dir, 'knowledge', { env: {} })).toBe('knowledge.yaml');
    // Off its schema elsewhere, current_project still answers.
    await writeFile(join(repo.dir, 'state.json'), '{"tools": "git", "current_project": "frontend"}');
    expect(routeFile(repo.dir, 'current_work', { env: {} })).toBe('projects/frontend/current_work.yaml');
  });
});

describe('the CLI in both modes', () => {
  it('without a project every command uses the root file; with one, the project file; --root and --project override', async () => {
    const repo = await repoWithProjects();
    const env = { GITSTATE_PROJECT: '' };
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => cli(args, { dir: repo.dir, env: { ...env, ...extra } });
    // Root mode.
    expect((await run(['append', 'current_work', 'active_issues', '{key: ROOT-1}'])).code).toBe(0);
    expect(git(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('append current_work.yaml active_issues');
    // current_project in state.json.
    const state = await StateManager.open(repo.dir, { flushOnExit: false });
    state.set('current_project', 'backend');
    await state.close();
    expect((await run(['append', 'current_work', 'active_issues', '{key: BE-1, status: Open}'])).code).toBe(0);
    expect((await run(['set', 'current_work', 'test_status', 'passed'])).code).toBe(0);
    expect((await run(['merge', 'current_work', '{last_test_run: "2026-12-01T10:00:00Z"}'])).code).toBe(0);
    expect(JSON.parse((await run(['get', 'current_work', '--json'])).stdout)).toEqual({
      branch: 'feature/be',
      active_issues: [{ key: 'BE-1', status: 'Open' }],
      test_status: 'passed',
      last_test_run: '2026-12-01T10:00:00Z',
    });
    expect(JSON.parse((await run(['query', 'current_work', '$.active_issues[*].key'])).stdout)).toEqual(['BE-1']);
    expect(JSON.parse((await run(['query', 'current_work', '$.active_issues[*].key', '--root'])).stdout)).toEqual(['ROOT-1']);
    // GITSTATE_PROJECT over current_project, --project over both.
    expect(JSON.parse((await run(['get', 'current_work', 'branch', '--json'], { GITSTATE_PROJECT: 'frontend' })).stdout)).toBe('feature/fe');
    expect(JSON.parse((await run(['get', 'current_work', 'branch', '--json', '--project', 'backend'], { GITSTATE_PROJECT: 'frontend' })).stdout)).toBe('feature/be');
    expect((await run(['delete', 'current_work', 'test_status', '--project', 'backend'])).code).toBe(0);
    expect(git(repo.dir, 'show', 'HEAD:projects/backend/current_work.yaml')).not.toContain('test_status');
    expect((await cli(['write', 'current_work', '--project', 'frontend'], { dir: repo.dir, env, input: 'branch: main\n' })).code).toBe(0);
    expect(git(repo.dir, 'show', 'HEAD:projects/frontend/current_work.yaml')).toBe('branch: main\n');
    // The root file was never touched after its own write.
    expect(git(repo.dir, 'log', '--format=%s', '--', 'current_work.yaml').trim().split('\n')[0]).toBe('append current_work.yaml active_issues');
    // A missing project is NOT_FOUND: exit 3, nothing written.
    const missing = await run(['append', 'current_work', 'active_issues', '{key: X-1}', '--project', 'nope']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/project "nope" does not exist/);
    // The context shows the project's file.
    const context = await run(['context']);
    expect(context.stdout).toContain('## Current work: project backend (projects/backend/current_work.yaml)\n- BE-1 [Open]');
    expect((await run(['context', '--root'])).stdout).toContain('## Current work\n- ROOT-1');
    assertRepoHealthy(repo.dir);
  });
});
