import type { Command } from 'commander';
import { examples, globals, openRepo, print, printJson } from '../run.js';

export function register(program: Command): void {
  const remote = program.command('remote').description('the remotes this state repo syncs with (URLs only; tokens come from GITSTATE_TOKEN or a credential helper)');
  const add = remote
    .command('add')
    .description('add a remote: https://..., ssh://... or user@host:path, or a local path')
    .argument('<name>', 'remote name, e.g. origin')
    .argument('<url>', 'remote URL, without credentials')
    .option('--branch <name>', "the remote's branch to track (default main; the local branch is always main)")
    .action(async (name: string, url: string, opts: { branch?: string }, command: Command) => {
      const options = globals(command);
      const { addRemote } = await import('../../sync/remote.js');
      await addRemote(await openRepo(options), name, url, { branch: opts.branch });
      if (options.json) printJson({ name, added: true, ...(opts.branch ? { branch: opts.branch } : {}) });
    });
  examples(add, ['gitstate remote add origin https://github.com/me/state.git', 'gitstate remote add origin git@github.com:me/state.git', 'gitstate remote add origin myserver:/srv/state.git --branch master']);
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
