import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('gc')
    .description('pack loose git objects (native git gc where installed, isomorphic-git otherwise); never removes anything reachable')
    .option('--no-native', 'use isomorphic-git even where git is installed')
    .action(async (opts: { native: boolean }, command: Command) => {
      const options = globals(command);
      const { gc } = await import('../../gc/gc.js');
      const result = await gc(await openRepo(options), { native: opts.native });
      if (options.json) return printJson(result);
      const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
      print(`${result.method}: ${result.before.looseObjects} loose objects, ${kb(result.before.bytes)} -> ${result.after.looseObjects} loose, ${result.after.packs} pack(s), ${kb(result.after.bytes)}`);
    });
  examples(cmd, ['gitstate gc', 'gitstate gc --no-native --json']);
}
