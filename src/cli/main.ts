#!/usr/bin/env node
/**
 * The `gitstate` command line: parse arguments, call one library function,
 * print. Errors print one line to stderr and exit with the documented code.
 */
import { Command, CommanderError } from 'commander';
import { fileURLToPath } from 'node:url';
import { ExitCode, exitCodeOf, GitstateError, messageOf } from '../errors.js';
import { openRepo, pendingAutoSync, type GlobalOptions } from './run.js';
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
import { register as registerQuery } from './commands/query.js';
import { register as registerStats } from './commands/stats.js';

// A write fsyncs its file, its objects and the ref in parallel: five or more at once,
// beyond libuv's default four threads. Must be set before the thread pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

export function buildProgram(): Command {
  const program = new Command('gitstate')
    .description('A Git-backed, versioned state repository for tools and AI assistants')
    .version('0.1.0')
    .option('--dir <dir>', 'state directory (default: $GITSTATE_DIR, else ./state)')
    .option('--json', 'machine-readable output')
    .option('-q, --quiet', 'print only what was asked for')
    .option('--author <author>', 'commit author as "Name <email>"')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 input rejected (nothing written),
4 conflict left for you, 5 repository lock not acquired in time.

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
    registerQuery,
    registerStats,
  ]) {
    register(program);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (pendingAutoSync) await startAutoSync(program);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other parse failure is a usage error.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    report(err, json);
    return exitCodeOf(err);
  }
}

/** After a write: a background sync, when auto-sync is on (it never delays or fails the write). */
async function startAutoSync(program: Command): Promise<void> {
  try {
    const { afterWrite } = await import('../sync/auto.js');
    await afterWrite(await openRepo(program.opts<GlobalOptions>()), fileURLToPath(import.meta.url));
  } catch {
    // auto-sync is best effort; status shows sync errors
  }
}

function report(err: unknown, json: boolean): void {
  const code = err instanceof GitstateError ? err.code : 'RUNTIME';
  const message = messageOf(err);
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`gitstate: ${message}\n`);
  if (process.env.GITSTATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    report(err, false);
    process.exitCode = ExitCode.runtime;
  },
);
