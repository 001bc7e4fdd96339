/** state.json's name and the error for a state.json that cannot be used: light, so readers need not load the manager. */
import { ExitCode, GitstateError } from '../errors.js';

export const STATE_FILE = 'state.json';

/** How to get out of a corrupt state.json, said wherever it is refused. */
export const RESET_HINT = 'run "gitstate state reset" to move it aside (kept in .gitstate/aside/) and start from {}';

/** state.json on disk is not JSON or breaks its schema: never overwritten silently. */
export class StateCorruptError extends GitstateError {
  readonly code = 'STATE_CORRUPT';
  readonly exitCode = ExitCode.rejected;
}
