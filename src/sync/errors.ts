/**
 * What can go wrong talking to a remote, each with a stable code. All name the
 * remote and the operation; none carries a credential.
 */
import { ExitCode, GitstateError } from '../errors.js';

export { PushRejectedError, SyncError } from '../errors.js';

/** The server turned the credentials down, or none were there to give (exit 1). */
export class AuthError extends GitstateError {
  readonly code = 'AUTH';
  readonly exitCode = ExitCode.runtime;
}

/** The server refused the push for a reason another fetch cannot fix: a hook, a protected branch (exit 1). */
export class PushRefusedError extends GitstateError {
  readonly code = 'PUSH_REFUSED';
  readonly exitCode = ExitCode.runtime;
}

/** The remote has branches, but not the one this repository tracks (exit 1). */
export class RemoteBranchError extends GitstateError {
  readonly code = 'NO_REMOTE_BRANCH';
  readonly exitCode = ExitCode.runtime;
}

/** The remote's history shares no commit with ours; merging needs --allow-unrelated (exit 4). */
export class UnrelatedHistoryError extends GitstateError {
  readonly code = 'UNRELATED_HISTORY';
  readonly exitCode = ExitCode.conflict;
}
