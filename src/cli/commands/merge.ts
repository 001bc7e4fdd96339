import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, parseCliValue, printWrite } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(mutationOptions(
    program
      .command('merge')
      .description('deep-merge a map into the map at a key path (maps merge key by key, other values replace) -> one commit')
      .argument('<file>', 'state file, .yaml optional')
      .argument('<keyOrValue>', 'key path, or the value when merging into the top level')
      .argument('[value]', 'map, parsed as YAML'),
  )).action(async (file: string, keyOrValue: string, value: string | undefined, opts: { message?: string } & ProjectOptions, command: Command) => {
    const options = globals(command);
    const repo = await openRepo(options);
    const [key, text] = value === undefined ? [undefined, keyOrValue] : [keyOrValue, value];
    printWrite(await repo.merge(routed(repo, file, opts), key, parseCliValue(text, false), { message: opts.message }), options);
  });
  examples(cmd, ['gitstate merge environments dev "{namespace: dev-2, last_deploy: 2026-11-24T10:00:00Z}"', 'gitstate merge knowledge "{ci: {runner: linux}}"']);
}
