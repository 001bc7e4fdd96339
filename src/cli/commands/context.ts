import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../../errors.js';
import type { StateRepo } from '../../core/repo.js';
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
      const repo = await openRepo(options);
      // a project named on the command line must exist; one from the environment or state.json is shown as missing
      if (opts.project) await assertProject(repo, opts.project);
      const data = await buildContext(repo, { project: opts.project, root: opts.root, sinceLastSession: opts.sinceLastSession, markSession: opts.markSession });
      if (options.json || opts.format === 'json') return printJson(data);
      print(renderContext(data, maxLines));
    });
  examples(cmd, ['gitstate context', 'gitstate context --project backend --since-last-session', 'gitstate context --format json']);
}

/** A project is a folder under projects/ with its current_work file. */
async function assertProject(repo: StateRepo, name: string): Promise<void> {
  const file = `projects/${name}/current_work`;
  await repo.readText(file).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(`no project "${name}": ${file}.yaml does not exist`, { project: name });
    throw err;
  });
}
