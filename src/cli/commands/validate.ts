import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { examples, globals, openRepo, print, printJson, writeErr } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description('check state files on disk (all by default): YAML, schema; exit 3 if any is invalid')
    .argument('[files...]', 'state files to check')
    .option('--staged', 'check what is staged for a commit instead (the pre-commit hook uses this)')
    .option('--message <file>', "check a commit message file for secrets instead (the commit-msg hook uses this)")
    .action(async (files: string[], opts: { staged?: boolean; message?: string }, command: Command) => {
      const options = globals(command);
      const repo = await openRepo(options);
      if (opts.message !== undefined) return checkMessageFile(repo.dir, opts.message);
      const results = opts.staged ? await (await import('../../hooks/staged.js')).validateStaged(repo) : await repo.validate(files);
      if (options.json) printJson(results);
      else if (opts.staged) for (const r of results.filter((x) => !x.ok)) writeErr(`gitstate: ${r.error}\n`);
      else for (const r of results) print(r.ok ? `ok       ${r.file}` : `invalid  ${r.error}`);
      if (results.some((r) => !r.ok)) process.exitCode = ExitCode.rejected;
    });
  examples(cmd, ['gitstate validate', 'gitstate validate current_work environments --json']);
}

/** The message as git will record it: without the comment lines git strips. */
async function checkMessageFile(dir: string, file: string): Promise<void> {
  const [{ loadAllowList }, { checkMessage }] = await Promise.all([import('../../security/allow.js'), import('../../security/guard.js')]);
  const text = await readFile(file, 'utf8');
  const message = text.split('\n').filter((line) => !line.startsWith('#')).join('\n');
  checkMessage(message, await loadAllowList(dir));
}
