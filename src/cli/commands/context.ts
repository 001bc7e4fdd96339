import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('context')
    .description("a compact Markdown summary of the state for an assistant's session (or JSON)")
    .option('--project <name>', "show this project's current_work (its branch, last test run and status too); default: $GITSTATE_PROJECT, else current_project in state.json")
    .option('--root', 'show the root current_work.yaml, whatever project is current')
    .option('--since-last-session', "also what changed since this machine's previous session")
    .option('--mark-session', "record now as this machine's last session (the session hooks do)")
    .option('--max-lines <n>', 'line budget for the Markdown', '80')
    .option('--format <format>', 'markdown or json', 'markdown')
    .action(async (opts: { project?: string; root?: boolean; sinceLastSession?: boolean; markSession?: boolean; maxLines: string; format: string }, command: Command) => {
      const options = globals(command);
      const maxLines = Number(opts.maxLines);
      if (!Number.isInteger(maxLines) || maxLines < 5) throw new UsageError(`--max-lines needs a whole number of at least 5, got "${opts.maxLines}"`);
      if (opts.format !== 'markdown' && opts.format !== 'json') throw new UsageError(`--format must be markdown or json, got "${opts.format}"`);
      const { buildContext, renderContext } = await import('../../context/context.js');
      const data = await buildContext(await openRepo(options), { project: opts.project, root: opts.root, sinceLastSession: opts.sinceLastSession, markSession: opts.markSession });
      if (options.json || opts.format === 'json') return printJson(data);
      print(renderContext(data, maxLines));
    });
  examples(cmd, ['gitstate context', 'gitstate context --project backend --since-last-session', 'gitstate context --format json']);
}
