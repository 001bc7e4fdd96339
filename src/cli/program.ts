/**
 * The `gitstate` program: its commands, global options and help, and the one
 * error printer every failure goes through — ours and commander's usage errors
 * alike: one `gitstate: …` line on stderr (with --json, one JSON error object),
 * and the documented exit code. `main` runs one command line in-process.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, exitCodeOf, GitstateError, messageOf, UsageError } from '../errors.js';
import { existsSync } from 'node:fs';
import { printable } from '../base/paths.js';
import { redactText } from '../security/redact.js';
import { join } from 'node:path';
import type { StateRepo } from '../core/repo.js';
import { beginCommand, repoWrittenTo, writeErr, writeOut, type GlobalOptions } from './run.js';
import { registerCommands } from './commands/index.js';

/** Where sync settings live (sync/merge.ts's SYNC_SETTINGS; not imported, so a write does not load sync). */
const SYNC_SETTINGS = '.gitstate/sync.yaml';

/** The program with the commands `argv` needs (its command alone; all of them for help or an unknown command). */
export async function buildProgram(argv: readonly string[], options: { quietErrors?: boolean } = {}): Promise<Command> {
  const program = new Command('gitstate')
    .description('A Git-backed, versioned state repository for tools and AI assistants')
    .version('0.1.0')
    .option('--dir <dir>', 'state directory (default: $GITSTATE_DIR, else the state repo at or above the current folder, else ./state; ~ is expanded)')
    .option('--json', 'machine-readable output; errors as {"error": {"code", "message"}}')
    .option('-q, --quiet', 'print only what was asked for (no notes such as "nothing changed" or sync progress)')
    .option('--author <author>', 'commit author as "Name <email>"')
    .configureHelp({ showGlobalOptions: true })
    // commander's own error text is replaced by ours (see `main`); help and version still print
    .configureOutput({
      writeOut,
      outputError: () => undefined,
      ...(options.quietErrors ? { writeErr: () => undefined } : {}),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 input rejected (nothing written;
NOT_FOUND for a missing file, key, revision or project), 4 conflict left for you,
5 repository lock not acquired in time.

Examples:
  $ gitstate init
  $ gitstate set current_work "active_issues[key=AAP-1].status" Done
  $ gitstate get current_work active_issues --json`,
    );
  await registerCommands(program, argv);
  tagUsageErrors(program, 'gitstate');
  return program;
}

/** Every command's usage errors name the command, so the message can point at its --help. */
function tagUsageErrors(command: Command, path: string): void {
  command.exitOverride((err) => {
    if (err.exitCode === 0) throw err; // --help, --version
    // `gitstate` or `gitstate state` without a subcommand: the help commander printed says it all
    if (err.code === 'commander.help' || err.code === 'commander.helpDisplayed') throw err;
    const text = err.message
      .replace(/^error: /, '')
      .replace(/\s*\(Did you mean (.*)\?\)/, '; did you mean $1?')
      .replace(/\.$/, '')
      // an argument commander quotes back may be a value (a key pasted where an option was looked for): one line, short, redacted
      .replace(/'([^']*)'/g, (_, quoted: string) => `'${printable(quoted, 60)}'`);
    throw new UsageError(`${text} (see "${path} --help")`);
  });
  for (const sub of command.commands) tagUsageErrors(sub, `${path} ${sub.name()}`);
}

export interface RunOptions {
  /** The CLI script a background auto-sync runs (none: no auto-sync). */
  autoSyncCli?: string;
}

/** Run one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[], options: RunOptions = {}): Promise<number> {
  beginCommand();
  const json = argv.includes('--json');
  // with --json, commander's help-on-error text stays off stderr: the JSON error object is all there is
  const program = await buildProgram(argv, { quietErrors: json });
  try {
    await program.parseAsync(argv, { from: 'user' });
    const written = options.autoSyncCli ? await repoWrittenTo(program.opts<GlobalOptions>()).catch(() => null) : null;
    if (written) await startAutoSync(written, options.autoSyncCli!);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.ok;
      // help shown for a missing subcommand: with --json, say so as an error object instead
      if (json) report(new UsageError('a command is needed (see "gitstate --help")'), true);
      return ExitCode.usage;
    }
    report(err, json);
    return exitCodeOf(err);
  }
}

/** After a write: a background sync, when auto-sync is on (it never delays or fails the write). */
async function startAutoSync(repo: StateRepo, cliPath: string): Promise<void> {
  // Only a repo with sync settings can have auto-sync on: the others load nothing more.
  if (!existsSync(join(repo.dir, SYNC_SETTINGS))) return;
  try {
    const { afterWrite } = await import('../sync/auto.js');
    await afterWrite(repo, cliPath);
  } catch {
    // auto-sync is best effort; status shows sync errors
  }
}

/** The error printer: one line, or one JSON object; never a stack unless GITSTATE_DEBUG is set. */
export function report(err: unknown, json: boolean): void {
  const code = err instanceof GitstateError ? err.code : 'RUNTIME';
  // every message is redacted once more here: a value echoed by a library's own text must not reach the terminal
  const message = redactText(messageOf(err));
  if (json) {
    const details = err instanceof GitstateError && Object.keys(err.data).length > 0 ? { details: err.data } : {};
    writeErr(`${JSON.stringify({ error: { code, message, ...details } })}\n`);
  } else writeErr(`gitstate: ${message}\n`);
  if (process.env.GITSTATE_DEBUG && err instanceof Error) writeErr(`${err.stack}\n`);
}
