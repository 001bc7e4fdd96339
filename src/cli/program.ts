/**
 * The `gitstate` program: its commands, global options and help, and the one
 * error printer every failure goes through — ours and commander's usage errors
 * alike: one `gitstate: …` line on stderr (with --json, one JSON error object),
 * and the documented exit code. `main` runs one command line in-process.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, exitCodeOf, GitstateError, messageOf, UsageError } from '../errors.js';
import { openRepo, pendingAutoSync, type GlobalOptions } from './run.js';
import { register as registerCommit } from './commands/commit.js';
import { register as registerInit } from './commands/init.js';
import { register as registerGet } from './commands/get.js';
import { register as registerSet } from './commands/set.js';
import { register as registerAppend } from './commands/append.js';
import { register as registerDelete } from './commands/delete.js';
import { register as registerMerge } from './commands/merge.js';
import { register as registerWrite } from './commands/write.js';
import { register as registerLs } from './commands/ls.js';
import { register as registerValidate } from './commands/validate.js';
import { register as registerBatch } from './commands/batch.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerState } from './commands/state.js';
import { register as registerFlush } from './commands/flush.js';
import { register as registerLog } from './commands/log.js';
import { register as registerShow } from './commands/show.js';
import { register as registerDiff } from './commands/diff.js';
import { register as registerBlame } from './commands/blame.js';
import { register as registerRollback } from './commands/rollback.js';
import { register as registerRevert } from './commands/revert.js';
import { register as registerRemote } from './commands/remote.js';
import { register as registerSync } from './commands/sync.js';
import { register as registerContext } from './commands/context.js';
import { register as registerMcp } from './commands/mcp.js';
import { register as registerHooks } from './commands/hooks.js';
import { register as registerGc } from './commands/gc.js';

export function buildProgram(options: { quietErrors?: boolean } = {}): Command {
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
  for (const register of [
    registerInit,
    registerGet,
    registerSet,
    registerAppend,
    registerDelete,
    registerMerge,
    registerWrite,
    registerLs,
    registerValidate,
    registerBatch,
    registerCommit,
    registerStatus,
    registerState,
    registerFlush,
    registerLog,
    registerShow,
    registerDiff,
    registerBlame,
    registerRollback,
    registerRevert,
    registerRemote,
    registerSync,
    registerContext,
    registerMcp,
    registerHooks,
    registerGc,
  ]) {
    register(program);
  }
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
      .replace(/\.$/, '');
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
  const json = argv.includes('--json');
  // with --json, commander's help-on-error text stays off stderr: the JSON error object is all there is
  const program = buildProgram({ quietErrors: json });
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (pendingAutoSync && options.autoSyncCli) await startAutoSync(program.opts<GlobalOptions>(), options.autoSyncCli);
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
async function startAutoSync(options: GlobalOptions, cliPath: string): Promise<void> {
  try {
    const { afterWrite } = await import('../sync/auto.js');
    await afterWrite(await openRepo(options), cliPath);
  } catch {
    // auto-sync is best effort; status shows sync errors
  }
}

/** The error printer: one line, or one JSON object; never a stack unless GITSTATE_DEBUG is set. */
export function report(err: unknown, json: boolean): void {
  const code = err instanceof GitstateError ? err.code : 'RUNTIME';
  const message = messageOf(err);
  if (json) {
    const details = err instanceof GitstateError && Object.keys(err.data).length > 0 ? { details: err.data } : {};
    process.stderr.write(`${JSON.stringify({ error: { code, message, ...details } })}\n`);
  } else process.stderr.write(`gitstate: ${message}\n`);
  if (process.env.GITSTATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
}
