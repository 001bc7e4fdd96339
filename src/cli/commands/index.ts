/**
 * Every command module, loaded on demand: a CLI call loads the one module its
 * command lives in (plus what that module needs), not all of them; help and
 * unknown commands load them all.
 */
import type { Command } from 'commander';

type Loader = () => Promise<{ register(program: Command): void }>;

/** Top-level command name -> the module that registers it. */
export const COMMAND_MODULES: Record<string, Loader> = {
  init: () => import('./init.js'),
  get: () => import('./get.js'),
  set: () => import('./set.js'),
  append: () => import('./append.js'),
  delete: () => import('./delete.js'),
  merge: () => import('./merge.js'),
  write: () => import('./write.js'),
  ls: () => import('./ls.js'),
  validate: () => import('./validate.js'),
  batch: () => import('./batch.js'),
  commit: () => import('./commit.js'),
  status: () => import('./status.js'),
  state: () => import('./state.js'),
  flush: () => import('./flush.js'),
  log: () => import('./log.js'),
  show: () => import('./show.js'),
  diff: () => import('./diff.js'),
  blame: () => import('./blame.js'),
  rollback: () => import('./rollback.js'),
  revert: () => import('./revert.js'),
  undo: () => import('./revert.js'),
  remote: () => import('./remote.js'),
  clone: () => import('./sync.js'),
  pull: () => import('./sync.js'),
  push: () => import('./sync.js'),
  sync: () => import('./sync.js'),
  conflicts: () => import('./sync.js'),
  context: () => import('./context.js'),
  mcp: () => import('./mcp.js'),
  hooks: () => import('./hooks.js'),
  gc: () => import('./gc.js'),
  doctor: () => import('./doctor.js'),
  query: () => import('./query.js'),
  stats: () => import('./stats.js'),
};

/** Options of the program itself that take a value (their value is not the command name). */
const VALUE_OPTIONS = new Set(['--dir', '--author']);

/** The command a CLI call names (the first word that is not a global option or its value), if any. */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Register the modules a call needs: its command's alone, or all of them (help, unknown commands). */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const name = commandName(argv);
  const wanted = name && name in COMMAND_MODULES ? [COMMAND_MODULES[name]!] : [...new Set(Object.values(COMMAND_MODULES))];
  const modules = await Promise.all(wanted.map((load) => load()));
  for (const module of new Set(modules)) module.register(program);
}
