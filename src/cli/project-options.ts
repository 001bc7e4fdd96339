/**
 * `--project NAME` and `--root` for the commands that take a FILE: with a
 * current project (--project, else GITSTATE_PROJECT, else current_project in
 * state.json), `current_work` means projects/<project>/current_work.yaml
 * (src/projects/routing.ts); --root reaches the root file.
 */
import type { Command } from 'commander';
import type { StateRepo } from '../core/repo.js';
import { routeFile } from '../projects/routing.js';

export interface ProjectOptions {
  project?: string;
  root?: boolean;
}

export function projectOptions(command: Command): Command {
  return command
    .option('--project <name>', 'the project whose current_work "current_work" means (default: $GITSTATE_PROJECT, else current_project in state.json)')
    .option('--root', 'the root current_work.yaml, whatever project is current');
}

/** The repo-relative path FILE means for this command. */
export function routed(repo: StateRepo, file: string, opts: ProjectOptions): string {
  return routeFile(repo.dir, file, { project: opts.project, root: opts.root });
}
