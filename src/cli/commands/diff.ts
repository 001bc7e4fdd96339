import type { Command } from 'commander';
import { formatDiffs } from '../history-output.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('diff')
    .description('changes: with no revision, hand edits in the work tree against HEAD (as git diff); REV1 to HEAD with one; REV1 to REV2 with two')
    .argument('[rev1]', 'from this revision')
    .argument('[rev2]', 'to this revision (default HEAD)')
    .option('--file <file>', 'only this file')
    .option('--structural', 'key-level changes (added, removed, changed) instead of a text diff')
    .action(async (rev1: string | undefined, rev2: string | undefined, opts: { file?: string; structural?: boolean }, command: Command) => {
      const options = globals(command);
      const { History } = await import('../../history/history.js');
      const history = new History(await openRepo(options));
      const diffOptions = { file: opts.file, structural: opts.structural || options.json };
      // no revision: the work tree against HEAD, as git diff
      const diffs = rev1 === undefined ? await history.diffWorkTree(diffOptions) : await history.diff(rev1, rev2, diffOptions);
      if (options.json) return printJson(diffs);
      const text = formatDiffs(diffs, Boolean(opts.structural));
      if (text) print(text);
    });
  examples(cmd, ['gitstate diff', 'gitstate diff HEAD~1 HEAD', 'gitstate diff HEAD~5 --file current_work', 'gitstate diff 1a2b3c4 HEAD --structural']);
}
