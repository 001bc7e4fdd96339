import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildContext, renderContext } from '../../src/context/context.js';
import { cleanupTempDirs, cli, git, tempRepo } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

describe('gitstate context', () => {
  it('summarises current work, environments (expired flagged), knowledge and a project', async () => {
    const repo = await tempRepo();
    await repo.set('current_work', 'active_issues', [{ key: 'AAP-1', status: 'In Progress', summary: 'Fix login', branch: 'feature/aap-1' }]);
    await repo.set('current_work', 'active_branches', [{ name: 'feature/aap-1', issue: 'AAP-1' }]);
    await repo.merge('environments', undefined, {
      dev: { namespace: 'dev-ns', reserved_until: '2020-01-01 10:00:00', deployed_apps: [{ name: 'api', image: 'api:1' }] },
      qa: { namespace: 'qa-ns', reserved_until: '2999-01-01T00:00:00Z' },
    });
    await repo.set('knowledge', 'ci', 'runs on linux');
    await repo.set('projects/backend/current_work', 'branch', 'main');
    await repo.set('projects/backend/current_work', 'test_status', 'passed');
    await repo.append('projects/backend/current_work', 'active_issues', { key: 'BE-7', status: 'Open' });
    const root = renderContext(await buildContext(repo, { currentProject: () => null }));
    expect(root).toContain('## Current work\n- AAP-1 [In Progress] Fix login (branch feature/aap-1)');
    expect(root).not.toContain('## Project');
    const text = renderContext(await buildContext(repo, { project: 'backend' }));
    expect(text).toContain('## Current work: project backend (projects/backend/current_work.yaml)\n- BE-7 [Open]');
    expect(text).not.toContain('AAP-1');
    expect(text).toContain('- dev: dev-ns, reserved until 2020-01-01 10:00:00 (EXPIRED); apps api');
    expect(text).toContain('- qa: qa-ns, reserved until 2999-01-01T00:00:00Z\n');
    expect(text).toContain('- ci: runs on linux');
    expect(text).toContain('## Project backend\n- branch main; last test run never: passed');
    const json = JSON.parse((await cli(['context', '--format', 'json'], { dir: repo.dir, env: { GITSTATE_PROJECT: 'backend' } })).stdout);
    expect(json.environments.find((e: { name: string }) => e.name === 'dev').expired).toBe(true);
    expect(json.project).toMatchObject({ name: 'backend', source: 'env', file: 'projects/backend/current_work.yaml', branch: 'main', testStatus: 'passed' });
    expect(json.currentWork.issues).toEqual([{ key: 'BE-7', status: 'Open' }]);
  });

  it('a secret the repo already holds is not repeated to the assistant', async () => {
    const repo = await tempRepo();
    const token = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
    // committed past the guard, as native git --no-verify would
    await writeFile(join(repo.dir, 'knowledge.yaml'), `deploy_note: use ${token} for the bot\n`);
    git(repo.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--no-verify', '-qam', 'by hand');
    const data = await buildContext(repo, { currentProject: () => null });
    const text = renderContext(data);
    expect(text).toContain('- deploy_note: use [redacted] for the bot');
    expect(JSON.stringify(data)).not.toContain(token);
  });

  it('a corrupt state.json or a missing project file does not stop it', async () => {
    const repo = await tempRepo();
    await writeFile(join(repo.dir, 'state.json'), '{broken');
    const text = renderContext(await buildContext(repo));
    expect(text).toMatch(/^> current project unknown, showing the root current_work\.yaml: cannot tell the current project: state\.json is not valid JSON/m);
    expect(text).toContain('## Current work\n- no active issues');
    const missing = renderContext(await buildContext(repo, { project: 'ghost' }));
    expect(missing).toContain('## Current work: project ghost (projects/ghost/current_work.yaml)\n- projects/ghost/current_work.yaml does not exist yet');
  });

  it('stays within the line budget', async () => {
    const repo = await tempRepo();
    await repo.set('current_work', 'active_issues', Array.from({ length: 200 }, (_, i) => ({ key: `K-${i}` })));
    const r = await cli(['context', '--max-lines', '20'], { dir: repo.dir });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(20);
    expect(lines[19]).toMatch(/more lines \(raise --max-lines\)/);
  });

  it('since the last session: per host, and the marker is never committed', async () => {
    const repo = await tempRepo();
    await cli(['context', '--mark-session'], { dir: repo.dir });
    await repo.set('knowledge', 'new_fact', 1);
    const r = await cli(['context', '--since-last-session'], { dir: repo.dir });
    expect(r.stdout).toMatch(/## Since your last session on this machine\n- [0-9a-f]{7} .*: set knowledge\.yaml new_fact\n {2}- knowledge\.yaml \+ new_fact/);
    const other = await cli(['context', '--since-last-session'], { dir: repo.dir, env: { GITSTATE_HOST: 'another-host' } });
    expect(other.stdout).toContain('(no earlier session recorded here)');
    const { git } = await import('../helpers/repo.js');
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  });
});
