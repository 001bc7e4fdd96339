/**
 * What every CLI command shares: the global options, opening the repository,
 * parsing values, printing results. Commands stay a few lines over one library call.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { StateRepo, type RepoOptions, type WriteResult } from '../core/repo.js';
import { UsageError } from '../errors.js';
import { chooseStateDir, isGitRepo, noStateRepoError, type StateDirChoice } from '../core/discover.js';
import { parseValueText } from '../yaml/document.js';
import { describeReport, type SecretReport } from '../security/report.js';

export interface GlobalOptions {
  dir?: string;
  json?: boolean;
  quiet?: boolean;
  author?: string;
}

/** Which state directory the command means, and how it was chosen (core/discover.ts). */
export function stateDirChoice(options: GlobalOptions): StateDirChoice {
  // an empty --dir is a variable that was not set (--dir "$STATE"): never whatever repo is found instead
  if (options.dir?.trim() === '') throw new UsageError(`--dir needs a folder, got ${JSON.stringify(options.dir)}; leave --dir out to use GITSTATE_DIR or the state repo at or above this folder`);
  return chooseStateDir({ dir: options.dir, env: process.env.GITSTATE_DIR });
}

/** The state directory: --dir, else GITSTATE_DIR, else the state repo at or above the cwd, else ./state. */
export function stateDir(options: GlobalOptions): string {
  return stateDirChoice(options).dir;
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

export function repoOptions(options: GlobalOptions): RepoOptions {
  return options.author ? { author: options.author } : {};
}

/** The state directory of an existing repo (for commands that open it through another class); see openRepo. */
export function requireStateDir(options: GlobalOptions): string {
  const choice = stateDirChoice(options);
  if (!isGitRepo(choice.dir)) throw noStateRepoError(choice);
  return choice.dir;
}

/** Open the state repo the command means, once for this command; when there is none, say where gitstate looked. */
export function openRepo(options: GlobalOptions): Promise<StateRepo> {
  opened ??= (async () => StateRepo.open(requireStateDir(options), repoOptions(options)))();
  return opened;
}
let opened: Promise<StateRepo> | null = null;

/** A new command line starts (main may run several in one process, as the tests do): nothing opened or written yet. */
export function beginCommand(): void {
  opened = null;
  wrote = false;
}

/** A VALUE argument: YAML (`42` is a number, `{a: 1}` a map) unless --string. */
export function parseCliValue(text: string, asString: boolean | undefined): unknown {
  return asString ? text : parseValueText(text, 'VALUE');
}

/** Read all of standard input (for `write`, `batch`, and a VALUE of `-`). */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError(`${what} reads from standard input; pipe the content in`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function print(text: string): void {
  writeOut(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * A writer to a standard stream (looked up on first use) that stops once the
 * stream fails: a reader that closed the pipe early (`gitstate log | head -1`)
 * wanted no more, so the rest goes nowhere and the command finishes as it
 * would have (a write it made is made), never with a stack.
 */
function streamWriter(stream: () => NodeJS.WriteStream, onFailure?: (err: NodeJS.ErrnoException) => void): (text: string) => void {
  let gone = false;
  let watched = false;
  return (text) => {
    if (!watched) {
      watched = true;
      stream().on('error', (err: NodeJS.ErrnoException) => {
        if (!gone && err.code !== 'EPIPE') onFailure?.(err);
        gone = true;
      });
    }
    if (!gone) stream().write(text);
  };
}

/** Text to standard error, as it is; nothing once it is closed (there is nowhere left to say so). */
export const writeErr = streamWriter(() => process.stderr);

/** Text to standard output, as it is; any failure but a closed pipe is one line on stderr and exit 1. */
export const writeOut = streamWriter(
  () => process.stdout,
  (err) => {
    writeErr(`gitstate: cannot write to standard output: ${err.message}\n`);
    process.exitCode = 1;
  },
);

export function printJson(value: unknown): void {
  print(JSON.stringify(value, jsonReplacer));
}

/** A value for humans: scalars as they are, collections as YAML. */
export function printValue(value: unknown, options: GlobalOptions): void {
  if (options.json) return printJson(value);
  if (value === null || value === undefined) return print('null');
  if (typeof value !== 'object' || value instanceof Date) return print(value instanceof Date ? value.toISOString() : String(value));
  print(stringify(value, { lineWidth: 0 }));
}

/** The result of a mutation: the commit id (the whole result with --json). */
export function printWrite(result: WriteResult & { secrets?: SecretReport[] }, options: GlobalOptions): void {
  if (result.changed) wrote = true;
  // secrets that were already committed: the write kept them; say so, never their value
  if (!options.json) for (const s of result.secrets ?? []) writeErr(`gitstate: warning: ${describeReport(s)}\n`);
  if (options.json) return printJson(result);
  if (!result.changed && !options.quiet) writeErr('nothing changed; no commit made\n');
  print(result.commit);
}

/** Set when this command committed something: the CLI then starts a background auto-sync, if enabled. */
let wrote = false;

/** The repository this command committed to (opened once), or null when it committed nothing. */
export async function repoWrittenTo(options: GlobalOptions): Promise<StateRepo | null> {
  return wrote ? openRepo(options) : null;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

/** Options every mutation takes. */
export function mutationOptions(command: Command): Command {
  return command.option('-m, --message <note>', 'add a note to the commit message');
}

/** Help text with examples, shown after the options. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
