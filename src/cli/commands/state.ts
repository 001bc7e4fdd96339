import type { Command } from 'commander';
import type { StateManager } from '../../state/manager.js';
import { NotFoundError } from '../../errors.js';
import { examples, globals, parseCliValue, print, printJson, printValue, printWrite, repoOptions, requireStateDir, writeErr, type GlobalOptions } from '../run.js';

/** A StateManager for one command: its changes are flushed (one commit) before the process exits. */
async function withState<T>(options: GlobalOptions, fn: (state: StateManager) => T | Promise<T>): Promise<T> {
  const { StateManager } = await import('../../state/manager.js');
  const state = await StateManager.open(requireStateDir(options), { ...repoOptions(options), flushOnExit: false });
  try {
    return await fn(state);
  } finally {
    await state.close();
  }
}

/** A mutation through the StateManager, flushed at once: prints the commit like any write. */
async function mutate(options: GlobalOptions, change: (state: StateManager) => void): Promise<void> {
  const result = await withState(options, async (state) => {
    change(state);
    try {
      return (await state.flush()) ?? { commit: (await (await state.repo.store()).headOid()) ?? '', changed: false, files: [] };
    } catch (err) {
      // the command fails with the flush's own error and writes nothing (no file set aside): it can be run again
      state.discardPending();
      throw err;
    }
  });
  printWrite(result, options);
}

export function register(program: Command): void {
  const state = program.command('state').description('runtime state in state.json (sessions, persona, tools), through the StateManager');

  const get = state
    .command('get')
    .description('print a value of state.json (the whole state without a key)')
    .argument('[key]', 'key path, e.g. sessions.s1.persona')
    .action(async (key: string | undefined, _opts, command: Command) => {
      const options = globals(command);
      const value = await withState(options, (s) => s.get(key));
      if (key && value === undefined) throw new NotFoundError(`no value at ${key} in state.json`, { file: 'state.json', key });
      printValue(value ?? null, options);
    });
  examples(get, ['gitstate state get', 'gitstate state get sessions.s1.persona --json']);

  const set = state
    .command('set')
    .description('set a value in state.json -> one commit')
    .argument('<key>', 'key path')
    .argument('<value>', 'value, parsed as YAML')
    .option('--string', 'store VALUE as a string')
    .action(async (key: string, value: string, opts: { string?: boolean }, command: Command) => {
      const parsed = parseCliValue(value, opts.string);
      await mutate(globals(command), (state) => state.set(key, parsed));
    });
  examples(set, ['gitstate state set persona developer', 'gitstate state set sessions.s1 "{persona: reviewer, started: 2026-11-24T09:00:00Z}"']);

  const del = state
    .command('delete')
    .description('remove a key from state.json -> one commit')
    .argument('<key>', 'key path')
    .action(async (key: string, _opts, command: Command) => {
      await mutate(globals(command), (state) => {
        if (state.get(key) === undefined) throw new NotFoundError(`no value at ${key} in state.json`, { file: 'state.json', key });
        state.delete(key);
      });
    });
  examples(del, ['gitstate state delete sessions.s1']);

  const reset = state
    .command('reset')
    .description('move state.json aside (kept in .gitstate/aside/) and start from {} -> one commit')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const [{ resetState }, { StateRepo }] = await Promise.all([import('../../state/commands.js'), import('../../core/repo.js')]);
      const result = await resetState(await StateRepo.open(requireStateDir(options), repoOptions(options)));
      if (options.json) return printJson(result);
      if (result.aside) writeErr(`previous state.json kept in ${result.aside}\n`);
      print(result.commit);
    });
  examples(reset, ['gitstate state reset']);
}
