import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { examples, globals, mutationOptions, openRepo, print, printJson, readStdin, writeErr } from '../run.js';

export function register(program: Command): void {
  const cmd = mutationOptions(
    program
      .command('batch')
      .description('apply JSON-lines operations from stdin: each its own commit, or one commit with --atomic')
      .option('--atomic', 'all operations in one commit, or nothing'),
  ).action(async (opts: { atomic?: boolean; message?: string }, command: Command) => {
    const options = globals(command);
    // zod is loaded only by the commands that need it, to keep `gitstate get` fast.
    const { parseBatch, runBatch } = await import('../../batch/batch.js');
    const ops = parseBatch(await readStdin('batch'));
    const repo = await openRepo(options);
    // each commit id as it lands: a batch stopped half-way (Ctrl-C) has said what it committed
    const onCommitted = options.json ? undefined : (r: { commit: string }) => print(r.commit);
    const outcome = await runBatch(repo, ops, { atomic: Boolean(opts.atomic), message: opts.message, onCommitted });
    if (options.json) printJson(outcome);
    else if (opts.atomic) for (const r of outcome.results) print(r.commit);
    if (outcome.error) {
      writeErr(`gitstate: batch line ${outcome.error.line}: ${outcome.error.message}\n`);
      process.exitCode = outcome.error.exitCode ?? ExitCode.runtime;
    }
  });
  examples(cmd, [
    `echo '{"op":"set","file":"knowledge","key":"ci.runner","value":"linux"}' | gitstate batch`,
    'gitstate batch --atomic < ops.jsonl',
  ]);
}
