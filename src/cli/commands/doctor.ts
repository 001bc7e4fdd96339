import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('doctor')
    .description('check the whole repository (all checks without an option); exit 3 when something is found')
    .option('--secrets', 'scan every commit in history for secrets: commit, file, rule, never the value')
    .action(async (opts: { secrets?: boolean }, command: Command) => {
      const options = globals(command);
      const { doctor, doctorFound } = await import('../../doctor/doctor.js');
      const report = await doctor(await openRepo(options), { secrets: opts.secrets });
      if (options.json) printJson(report);
      else if (report.secrets) {
        const { commits, blobs, findings, allowed } = report.secrets;
        for (const f of findings) print(`${f.commit.slice(0, 12)} ${f.file}: ${f.where}: rule ${f.rule}, fingerprint fp:${f.fingerprint}`);
        const summary = `secrets: ${findings.length} found in ${commits} commit(s), ${blobs} file version(s) scanned${allowed ? `; ${allowed} let through by the allow-list` : ''}`;
        print(findings.length > 0 ? `${summary}. Rotate each one: whoever has a clone has it. Then remove it with a write (history keeps it; rewriting history breaks every synced clone).` : summary);
      }
      if (doctorFound(report)) process.exitCode = ExitCode.rejected;
    });
  examples(cmd, ['gitstate doctor --secrets', 'gitstate doctor --secrets --json']);
}
