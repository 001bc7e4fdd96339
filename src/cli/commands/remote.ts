import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const remote = program.command('remote').description('the remotes this state repo syncs with (URLs only; tokens come from GITSTATE_TOKEN or a credential helper)');
  const add = remote
    .command('add')
    .description('add a remote: https://..., ssh://... or user@host:path, or a local path')
    .argument('<name>', 'remote name, e.g. origin')
    .argument('<url>', 'remote URL, without credentials')
    .action(async (name: string, url: string, _opts, command: Command) => {
      const options = globals(command);
      const { addRemote } = await import('../../sync/remote.js');
      await addRemote(await openRepo(options), name, url);
      if (options.json) printJson({ name, added: true });
    });
  examples(add, ['gitstate remote add origin https://github.com/me/state.git', 'gitstate remote add origin git@github.com:me/state.git']);
  const remove = remote
    .command('remove')
    .description('remove a remote')
    .argument('<name>', 'remote name')
    .action(async (name: string, _opts, command: Command) => {
      const options = globals(command);
      const { removeRemote } = await import('../../sync/remote.js');
      await removeRemote(await openRepo(options), name);
      if (options.json) printJson({ name, removed: true });
    });
  examples(remove, ['gitstate remote remove origin']);
  const list = remote
    .command('list')
    .description('list the remotes')
    .action(async (_opts, command: Command) => {
      const options = globals(command);
      const { listRemotes } = await import('../../sync/remote.js');
      const remotes = await listRemotes(await openRepo(options));
      if (options.json) return printJson(remotes);
      if (remotes.length > 0) print(remotes.map((r) => `${r.name}\t${r.url}`).join('\n'));
    });
  examples(list, ['gitstate remote list --json']);
}
