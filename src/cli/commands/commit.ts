import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson, printWrite, writeErr } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('commit')
    .description('check files edited by hand (parse, schema, secrets) and commit them -> one commit; exit 3 naming what is wrong')
    .argument('[files...]', 'only these files (default: every hand edit `gitstate status` lists)')
    .option('-m, --message <note>', 'add a note to the commit message')
    .option('--force', 'commit an edit that emptied a file or dropped more than half its top-level keys')
    .action(async (files: string[], opts: { message?: string; force?: boolean }, command: Command) => {
      const options = globals(command);
      const { commitHandEdits } = await import('../../core/hand-edits.js');
      const result = await commitHandEdits(await openRepo(options), { files, message: opts.message, force: opts.force });
      if (options.json) return printJson(result);
      if (result.edits.length === 0) {
        if (!options.quiet) writeErr('no hand edits to commit; nothing changed\n');
        return print(result.commit);
      }
      printWrite(result, options);
    });
  examples(cmd, ['gitstate commit', 'gitstate commit knowledge -m "notes from the design review"', 'gitstate commit current_work --force']);
}
