import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description('check state files on disk (all by default): YAML, schema; exit 3 if any is invalid')
    .argument('[files...]', 'state files to check')
    .action(async (files: string[], _opts, command: Command) => {
      const options = globals(command);
      const results = await (await openRepo(options)).validate(files);
      if (options.json) printJson(results);
      else for (const r of results) print(r.ok ? `ok       ${r.file}` : `invalid  ${r.error}`);
      if (results.some((r) => !r.ok)) process.exitCode = ExitCode.rejected;
    });
  examples(cmd, ['gitstate validate', 'gitstate validate current_work environments --json']);
}
