import type { Command } from 'commander';
import { examples, globals, print, printJson, repoOptions, stateDir } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('init')
    .description('make the state dir a state repository: a new one, a folder of files (checked, then adopted), or an existing git repo (idempotent)')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const { initStateRepo } = await import('../../core/init.js');
      const report = await initStateRepo(stateDir(options), repoOptions(options));
      if (options.json) return printJson(report);
      const lines: string[] = [];
      if (report.created) lines.push(`initialized state repository in ${report.dir}`);
      else if (report.upgraded) lines.push(`upgraded the state repository in ${report.dir} to the current format`);
      else if (report.identityRecorded.length > 0) lines.push(`already initialized: ${report.dir}; recorded git's ${report.identityRecorded.join(' and ')} in its config`);
      else lines.push(`already initialized: ${report.dir} (nothing changed)`);
      if (report.hookInstalled && !report.created) lines.push('installed the pre-commit and commit-msg hooks');
      if (report.adopted.length > 0) lines.push(`adopted as they are: ${report.adopted.join(', ')}`);
      for (const e of report.excluded) lines.push(`left out (added to .gitignore): ${e.path}: ${e.reason}`);
      for (const w of report.warnings) lines.push(`warning: ${w.message} (kept; gitstate validate shows it)`);
      for (const why of report.identitySkipped) lines.push(`warning: ${why}`);
      if (options.quiet) return print(lines[0]!);
      print(lines.join('\n'));
    });
  examples(cmd, ['gitstate init', 'gitstate --dir ~/state init', 'GITSTATE_DIR=~/state gitstate init']);
}
