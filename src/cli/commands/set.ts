import type { Command } from 'commander';
import { examples, globals, mutationOptions, openRepo, parseCliValue, printWrite } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(mutationOptions(
    program
      .command('set')
      .description('set the value at a key path (missing map levels are created) -> one commit')
      .argument('<file>', 'state file, .yaml optional')
      .argument('<key>', 'key path')
      .argument('<value>', 'value, parsed as YAML (42 is a number, {a: 1} a map)')
      .option('--string', 'store VALUE as a string, without YAML parsing'),
  )).action(async (file: string, key: string, value: string, opts: { string?: boolean; message?: string } & ProjectOptions, command: Command) => {
    const options = globals(command);
    const repo = await openRepo(options);
    printWrite(await repo.set(routed(repo, file, opts), key, parseCliValue(value, opts.string), { message: opts.message }), options);
  });
  examples(cmd, [
    'gitstate set current_work "active_issues[key=AAP-12345].status" Done',
    'gitstate set environments dev "{namespace: dev-ns, reserved_until: 2026-12-01}"',
    'gitstate set knowledge build.version 1.10 --string -m "pin the version as text"',
  ]);
}
