import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { assertRepoHealthy, cleanupTempDirs, CLI, ROOT, tempDir, tempRepo } from './helpers/repo.js';

afterAll(cleanupTempDirs);

/** The shell code blocks of README.md that follow a line containing `marker`. */
function blockAfter(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  expect(at, `README.md has "${marker}"`).toBeGreaterThanOrEqual(0);
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  return match![1]!;
}

function runShell(script: string, dir: string): string {
  // `gitstate` is this checkout's CLI, pointed at a fresh state dir.
  const prelude = `set -euo pipefail\ngitstate() { node ${JSON.stringify(CLI)} --dir ${JSON.stringify(dir)} "$@"; }\n`;
  return execFileSync('bash', ['-c', prelude + script], { encoding: 'utf8', env: { ...process.env, GITSTATE_DIR: '' } });
}

describe('README examples', () => {
  it('the CLI examples run on a fresh gitstate init', async () => {
    const dir = join(await tempDir(), 'state');
    runShell('gitstate init', dir);
    const out = runShell(blockAfter('Examples (each runnable'), dir);
    expect(out).toContain('In Progress');
    assertRepoHealthy(dir);
  });

  it('the history worked example finds, shows and reverts the bad write', async () => {
    const dir = join(await tempDir(), 'state');
    runShell('gitstate init', dir);
    const out = runShell(blockAfter('A worked example'), dir);
    expect(out).toContain('"In Progress" -> "Cancelled"');
    expect(out.trimEnd().split('\n').slice(-3).join('\n')).toBe('key: AAP-1\nstatus: In Progress\nbranch: feature/aap-1');
    assertRepoHealthy(dir);
  });

  it('the sync example clones a second machine and brings its write back', async () => {
    const tmp = await tempDir();
    const dir = join(tmp, 'state');
    runShell('gitstate init', dir);
    // the example's mktemp folders go in this test's temp dir, removed afterwards
    const out = runShell(`export TMPDIR=${JSON.stringify(tmp)}\n${blockAfter('## Sync')}`, dir);
    expect(out.trimEnd().split('\n').at(-1)).toBe('vim');
    assertRepoHealthy(dir);
  });

  it('the secrets and state.json examples run as printed', async () => {
    const dir = join(await tempDir(), 'state');
    runShell('gitstate init', dir);
    expect(runShell(blockAfter('## Secrets'), dir)).toContain('let through by the allow-list');
    expect(runShell(blockAfter('## state.json'), dir)).toContain('reviewer');
    assertRepoHealthy(dir);
  });

  it('the assistant section lists every tool the server offers, with its arguments', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Assistants (MCP)'), readme.indexOf('## state.json'));
    const listed = new Map([...section.matchAll(/`(\w+)\(([^)]*)\)`/g)].map((m) => [m[1]!, m[2]!.split(',').map((a) => a.trim().replace(/[?=].*$/, '')).filter((a) => a && a !== 'project' && a !== 'root')]));
    const repo = await tempRepo();
    const client = new Client({ name: 'readme-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, '--dir', repo.dir, 'mcp'], env: { ...process.env, GITSTATE_DIR: '' } as Record<string, string>, stderr: 'pipe' }));
    try {
      const { tools } = await client.listTools();
      const offered = new Map(tools.map((t) => [t.name, Object.keys(t.inputSchema.properties ?? {}).filter((a) => a !== 'project' && a !== 'root')]));
      expect([...listed.keys()].sort()).toEqual([...offered.keys()].sort());
      for (const [name, args] of offered) expect(listed.get(name)?.sort(), name).toEqual(args.sort());
    } finally {
      await client.close();
    }
  });
});
