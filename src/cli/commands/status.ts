import type { Command } from 'commander';
import type { RepoStatus } from '../../status/status.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

/** The work tree's lines: hand edits first, with what takes them; then anything else git sees. */
function workTree(status: RepoStatus): string[] {
  if (status.clean) return ['work tree: clean'];
  const edited = new Set(status.handEdits.map((e) => e.path));
  const lines: string[] = [];
  if (status.handEdits.length > 0) {
    lines.push(`hand edits: ${status.handEdits.length} file(s) changed outside gitstate, not committed ("gitstate commit" checks and commits them; "gitstate diff" shows them)`);
    for (const e of status.handEdits) lines.push(`  ${e.status.padEnd(8)} ${e.path}`);
  }
  const other = status.changes.filter((c) => !edited.has(c.path));
  if (other.length > 0) {
    lines.push(`other changes: ${other.length} (not state files gitstate commits; add them to .gitignore, or remove them)`);
    for (const c of other) lines.push(`  ${c.status} ${c.path}`);
  }
  return lines;
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description('show the repository: branch, HEAD, files, uncommitted changes (and finish recovering an interrupted write)')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const { repoStatus } = await import('../../status/status.js');
      const repo = await openRepo(options);
      const { syncStatus } = await import('../../sync/sync.js');
      const status = { ...(await repoStatus(repo)), sync: await syncStatus(repo) };
      if (options.json) return printJson(status);
      const lines = [
        `state dir: ${status.dir}`,
        `branch:    ${status.branch} at ${status.head ? status.head.slice(0, 12) : '(no commits)'}`,
        ...(status.headProblem ? [`HEAD:      ${status.headProblem}; writes are refused until then`] : []),
        ...(status.indexProblem ? [`index:     ${status.indexProblem}`] : []),
        `files:     ${status.files}`,
        ...workTree(status),
        status.sync.remote
          ? `sync:      ${status.sync.remote}: ${status.sync.ahead} ahead, ${status.sync.behind} behind; last sync ${status.sync.lastSync ?? 'never'}${status.sync.lastError ? `; last error: ${status.sync.lastError}` : ''}`
          : 'sync:      no remote',
      ];
      if (status.recovered.restored.length > 0) lines.push(`recovered an interrupted write: restored ${status.recovered.restored.join(', ')}`);
      if (status.readOnly) lines.push(`read-only:  nothing was written${status.interrupted ? '; an interrupted write is waiting for the next writer to put it right' : ''}`);
      if (status.secrets.length > 0) {
        const { describeReport } = await import('../../security/report.js');
        lines.push(`secrets:   ${status.secrets.length} already committed (rotate them; gitstate doctor --secrets scans all history)`, ...status.secrets.map((s) => `  ${describeReport(s)}`));
      }
      print(lines.join('\n'));
    });
  examples(cmd, ['gitstate status', 'gitstate status --json']);
}
