import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description('check state files on disk (all by default): YAML, schema; exit 3 if any is invalid')
    .argument('[files...]', 'state files to check')
    .option('--staged', 'check what is staged for a commit instead (the pre-commit hook uses this)')
    .action(async (files: string[], opts: { staged?: boolean }, command: Command) => {
      const options = globals(command);
      const repo = await openRepo(options);
      const results = opts.staged ? await (await import('../../hooks/staged.js')).validateStaged(repo) : await repo.validate(files);
      if (options.json) printJson(results);
      else if (opts.staged) for (const r of results.filter((x) => !x.ok)) process.stderr.write(`gitstate: ${r.error}\n`);
      else for (const r of results) print(r.ok ? `ok       ${r.file}` : `invalid  ${r.error}`);
      if (results.some((r) => !r.ok)) process.exitCode = ExitCode.rejected;
    });
  examples(cmd, ['gitstate validate', 'gitstate validate current_work environments --json']);
}
