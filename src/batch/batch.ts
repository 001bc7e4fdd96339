/**
 * Batches: JSON lines of operations (`{"op","file","key","value"}`). The whole
 * input is checked before anything runs; then each operation is its own commit,
 * or with `atomic` all of them are one commit or none.
 */
import * as z from '../base/zod.js';
import { exitCodeOf, GitstateError, UsageError, type ExitCode } from '../errors.js';
import type { StateRepo, TxOps, WriteResult } from '../core/repo.js';
import { applyOp } from '../core/transaction.js';
import { checkJsonNumbers, jsonErrorReason } from '../security/values.js';
import { normalizeStatePath } from '../base/paths.js';
import { parseKeyPath } from '../base/keypath.js';

const file = z.string().min(1);
const key = z.string().min(1);
export const batchOp = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('set'), file, key, value: z.unknown() }),
  z.strictObject({ op: z.literal('append'), file, key, value: z.unknown() }),
  z.strictObject({ op: z.literal('delete'), file, key: key.optional() }),
  z.strictObject({ op: z.literal('merge'), file, key: key.optional(), value: z.unknown() }),
  z.strictObject({ op: z.literal('write'), file, value: z.string() }),
]);
export type BatchOp = z.infer<typeof batchOp>;

export interface BatchOutcome {
  results: Array<WriteResult & { line: number }>;
  /** The operation that failed; the ones before it stay committed unless atomic. */
  error?: { line: number; code: string; message: string; exitCode?: ExitCode };
}

class BatchLineError extends GitstateError {
  readonly code = 'BATCH';
  readonly exitCode = 3 as const;
}

/** Parse JSON lines; blank lines are skipped. Any bad line rejects the whole batch. */
export function parseBatch(text: string): Array<{ line: number; op: BatchOp }> {
  const ops: Array<{ line: number; op: BatchOp }> = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new BatchLineError(`batch line ${i + 1} is not valid JSON: ${jsonErrorReason(err, raw)}`);
    }
    checkJsonNumbers(raw, `batch line ${i + 1}`);
    const parsed = batchOp.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = issue.path.length > 0 ? ` at "${issue.path.join('.')}"` : '';
      throw new BatchLineError(`batch line ${i + 1}${at}: ${issue.message.replace(/^Invalid input: /, '')}`);
    }
    if (parsed.data.op !== 'delete' && parsed.data.value === undefined) {
      throw new BatchLineError(`batch line ${i + 1}: "value" is required for ${parsed.data.op}`);
    }
    // where each line writes is checked with the rest: a path that escapes the state dir, or a
    // key path that does not parse, rejects the batch before its first write
    const op = parsed.data;
    try {
      normalizeStatePath(op.file);
      if ('key' in op && op.key !== undefined) parseKeyPath(op.key);
    } catch (err) {
      throw annotate(err, i + 1);
    }
    ops.push({ line: i + 1, op });
  });
  if (ops.length === 0) throw new UsageError('batch: no operations on standard input');
  return ops;
}

export async function runBatch(
  repo: StateRepo,
  ops: Array<{ line: number; op: BatchOp }>,
  options: { atomic: boolean; message?: string; onCommitted?: (result: WriteResult & { line: number }) => void },
): Promise<BatchOutcome> {
  if (options.atomic) {
    let current = 0;
    const fn = async (tx: TxOps) => {
      for (const { line, op } of ops) {
        current = line;
        await applyOp(tx, op);
      }
    };
    // the lock's holder may make it in this process's place; an error there is made here again, to name its line
    const result = await repo.transactionAs(fn, { message: options.message }, { ops: ops.map((o) => o.op), single: false }).catch((err: unknown) => {
      throw annotate(err, current);
    });
    return { results: [{ ...result, line: ops.length === 1 ? ops[0]!.line : 0 }] };
  }
  const outcome: BatchOutcome = { results: [] };
  for (const { line, op } of ops) {
    try {
      const result = await repo.transactionAs(null, { message: options.message }, { ops: [op], single: true });
      outcome.results.push({ ...result, line });
      options.onCommitted?.({ ...result, line });
    } catch (err) {
      if (!(err instanceof GitstateError)) throw err;
      outcome.error = { line, code: err.code, message: err.message, exitCode: exitCodeOf(err) };
      break;
    }
  }
  return outcome;
}

function annotate(err: unknown, line: number): unknown {
  if (err instanceof GitstateError && line > 0 && !err.message.startsWith('batch line')) {
    err.message = `batch line ${line}: ${err.message}`;
  }
  return err;
}
