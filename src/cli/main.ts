#!/usr/bin/env node
/**
 * The `gitstate` command line: parse arguments, call one library function,
 * print. Errors print one line to stderr and exit with the documented code
 * (the program and its error printer are in program.ts).
 */
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../errors.js';
import { main, report } from './program.js';

// A write fsyncs its file, its objects and the ref in parallel: five or more at once,
// beyond libuv's default four threads. Must be set before the thread pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

// the executable beside this module (in the bundle: the launcher, dist/cli/main.js)
main(process.argv.slice(2), { autoSyncCli: fileURLToPath(new URL('./main.js', import.meta.url)) }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    report(err, false);
    process.exitCode = ExitCode.runtime;
  },
);
