import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

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
        `files:     ${status.files}`,
        status.clean ? 'work tree: clean' : `work tree: ${status.changes.length} uncommitted change(s)`,
        ...status.changes.map((c) => `  ${c.status} ${c.path}`),
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
