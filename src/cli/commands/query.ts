import type { Command } from 'commander';
import { examples, globals, openRepo, print } from '../run.js';
import { projectOptions, routed, type ProjectOptions } from '../project-options.js';

export function register(program: Command): void {
  const cmd = projectOptions(
    program
      .command('query')
      .description('JSONPath (RFC 9535) over a state file: the matching values as JSON')
      .argument('<file>', 'state file, .yaml optional')
      .argument('<jsonpath>', 'query, e.g. $.active_issues[?@.status=="Open"].key')
      .option('--paths', 'print {path, key, value} for each match (key: the key path for set)'),
  ).action(async (file: string, expression: string, opts: ProjectOptions & { paths?: boolean }, command: Command) => {
    const options = globals(command);
    const { queryFile } = await import('../../query/query.js');
    const repo = await openRepo(options);
    const matches = await queryFile(repo, routed(repo, file, opts), expression);
    const out = opts.paths ? matches : matches.map((m) => m.value);
    print(options.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
  });
  examples(cmd, [
    `gitstate query current_work '$.active_issues[?@.status=="In Progress"].key'`,
    `gitstate query environments '$..deployed_apps[*].name'`,
    `gitstate query current_work '$.active_issues[?match(@.key, "AAP-.*")]' --paths --project backend`,
  ]);
}
