/**
 * Typed errors. Every failure the user can see is one of these: a stable `code`
 * callers branch on, the exit code the CLI maps it to, and a one-line message
 * that the CLI, the MCP server and library users all share.
 */

/** Exit codes, as documented in the README and DESIGN.md. */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  rejected: 3,
  conflict: 4,
  lock: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class GitstateError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    // One line: the CLI prints it as is.
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = new.target.name;
  }
}

/** Input rejected before anything was written (exit 3). */
abstract class RejectedError extends GitstateError {
  readonly exitCode = ExitCode.rejected;
}

export class PathError extends RejectedError {
  readonly code = 'PATH';
}
export class KeyPathError extends RejectedError {
  readonly code = 'KEY_PATH';
}
/** A key path that is well formed but names nothing in the file. */
export class NotFoundError extends RejectedError {
  readonly code = 'NOT_FOUND';
}
export class YamlError extends RejectedError {
  readonly code = 'INVALID_YAML';
}
export class SchemaError extends RejectedError {
  readonly code = 'SCHEMA';
}
export class SecretError extends RejectedError {
  readonly code = 'SECRET';
}
export class SizeError extends RejectedError {
  readonly code = 'TOO_LARGE';
}
/** An operation that does not fit the value it is applied to (append to a map...). */
export class OperationError extends RejectedError {
  readonly code = 'INVALID_OPERATION';
}

const REJECTED = {
  PATH: PathError,
  KEY_PATH: KeyPathError,
  NOT_FOUND: NotFoundError,
  INVALID_YAML: YamlError,
  SCHEMA: SchemaError,
  SECRET: SecretError,
  TOO_LARGE: SizeError,
  INVALID_OPERATION: OperationError,
} as const;

/** An input error as data: one a write met in another process on this one's behalf (core/handoff.ts). */
export interface ErrorRecord {
  code: string;
  message: string;
  data: Record<string, unknown>;
}

/** The record of an input error above (exit 3), or null for any other kind. */
export function recordOfRejected(err: unknown): ErrorRecord | null {
  if (!(err instanceof RejectedError)) return null;
  const kind = REJECTED[err.code as keyof typeof REJECTED] as unknown;
  return kind === err.constructor ? { code: err.code, message: err.message, data: err.data } : null;
}

/** The error a record stands for, as the write would have thrown it here; null when it names no input error above. */
export function rejectedFromRecord(record: ErrorRecord): GitstateError | null {
  const kind = Object.hasOwn(REJECTED, record.code) ? REJECTED[record.code as keyof typeof REJECTED] : undefined;
  return kind && typeof record.message === 'string' ? new kind(record.message, record.data ?? {}) : null;
}

export class UsageError extends GitstateError {
  readonly code = 'USAGE';
  readonly exitCode = ExitCode.usage;
}

export class LockError extends GitstateError {
  readonly code = 'LOCK_TIMEOUT';
  readonly exitCode = ExitCode.lock;
}

export class ConflictError extends GitstateError {
  readonly code = 'CONFLICT';
  readonly exitCode = ExitCode.conflict;
}

/**
 * The branch moved under a write (a native commit got in first) more times
 * than the write re-applied itself: nothing was committed (exit 1).
 */
export class BranchMovedError extends GitstateError {
  readonly code = 'BRANCH_MOVED';
  readonly exitCode = ExitCode.runtime;
  constructor(
    readonly expected: string | null,
    readonly found: string | null,
  ) {
    super(`the branch moved from ${short(expected)} to ${short(found)} during this write; nothing was committed`, { expected, found });
  }
}

/**
 * Run `attempt` again while it fails with BranchMovedError (at most 20 more
 * times): for work read outside the lock and committed with `expectedHead`,
 * which must be worked out again on the new HEAD so the write that moved it is kept.
 */
export async function onCurrentHead<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof BranchMovedError) || tries >= 20) throw err;
    }
  }
}

function short(oid: string | null): string {
  return oid ? oid.slice(0, 7) : '(no commit)';
}

/** Runtime failures: the repository, git, the file system (exit 1). */
export class RepoError extends GitstateError {
  readonly code = 'REPO';
  readonly exitCode = ExitCode.runtime;
}

/** A remote could not be reached, answered badly, or did not answer in time (exit 1). */
export class SyncError extends GitstateError {
  readonly code = 'SYNC';
  readonly exitCode = ExitCode.runtime;
}

/** The remote has commits we don't: fetch and merge, then push again. */
export class PushRejectedError extends GitstateError {
  readonly code = 'PUSH_REJECTED';
  readonly exitCode = ExitCode.runtime;
}

/** Exit code for anything thrown: ours map themselves, the rest are runtime failures. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof GitstateError ? err.exitCode : ExitCode.runtime;
}

/** One line for the user, whatever was thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, ' ');
  return String(err);
}
