#!/usr/bin/env node
/**
 * The `gitstate` command line: parse arguments, call one library function,
 * print. Errors print one line to stderr and exit with the documented code.
 */
import { Command, CommanderError } from 'commander';
import { fileURLToPath } from 'node:url';
import { ExitCode, exitCodeOf, GitstateError, messageOf } from '../errors.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StateRepo } from '../core/repo.js';
import { repoWrittenTo, type GlobalOptions } from './run.js';

/** Where sync settings live (sync/merge.ts's SYNC_SETTINGS; not imported, so a write does not load sync). */
const SYNC_SETTINGS = '.gitstate/sync.yaml';
import { registerCommands } from './commands/index.js';

// A write fsyncs its file, its objects and the ref in parallel: five or more at once,
// beyond libuv's default four threads. Must be set before the thread pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
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
  await registerCommands(program, argv);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    const written = await repoWrittenTo(program.opts<GlobalOptions>()).catch(() => null);
    if (written) await startAutoSync(written);
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
async function startAutoSync(repo: StateRepo): Promise<void> {
  // Only a repo with sync settings can have auto-sync on: the others load nothing more.
  if (!existsSync(join(repo.dir, SYNC_SETTINGS))) return;
  try {
    const { afterWrite } = await import('../sync/auto.js');
    await afterWrite(repo, fileURLToPath(import.meta.url));
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
