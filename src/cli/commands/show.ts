import type { Command } from 'commander';
import { formatCommitHeader, formatDiffs, indent } from '../history-output.js';
import { examples, globals, openRepo, print, printJson, writeOut } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('show')
    .description('a commit and its changes, or a file as it was at a revision (REV:FILE)')
    .argument('<rev>', 'commit id (full or short), HEAD~N, a branch; REV:FILE for a file')
    .action(async (rev: string, _opts, command: Command) => {
      const options = globals(command);
      const { History } = await import('../../history/history.js');
      const history = new History(await openRepo(options));
      const colon = rev.indexOf(':');
      if (colon >= 0) {
        const text = await history.fileAt(rev.slice(0, colon) || 'HEAD', rev.slice(colon + 1));
        return options.json ? printJson({ content: text }) : writeOut(text);
      }
      const shown = await history.show(rev);
      if (options.json) return printJson(shown);
      print(`${formatCommitHeader(shown)}\n\n${indent(shown.message.trimEnd())}\n\n${formatDiffs(shown.diffs, false)}`);
    });
  examples(cmd, ['gitstate show HEAD', 'gitstate show HEAD~3:current_work', 'gitstate show 1a2b3c4 --json']);
}
