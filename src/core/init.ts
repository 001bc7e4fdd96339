/**
 * `gitstate init`: a git repository with pinned config, the seed layout, a
 * .gitignore for local-only files, and one initial commit. Files already in
 * the directory (a state folder being brought under version control) are kept
 * as they are and committed with the seeds; seeds never overwrite them.
 */
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../git/iso.js';
import { GitStore } from '../git/store.js';
import { AtomicFs } from '../git/atomic-fs.js';
import { resolveAuthor } from './author.js';
import { withRepoLock, type LockOptions } from './lock.js';
import { commitMessage } from './message.js';
import { installHooks } from './hooks.js';

/** Config isomorphic-git needs to read and write the repo correctly (see LIBRARIES.md). */
export const PINNED_CONFIG: Record<string, string> = {
  'core.repositoryformatversion': '0',
  'core.bare': 'false',
  'core.filemode': 'true',
  'core.autocrlf': 'false',
  'core.splitIndex': 'false',
  'core.untrackedCache': 'false',
  // Our index entries carry the stat data of a file before its rename into place,
  // which changes only ctime: the index is then made durable with the objects.
  'core.trustctime': 'false',
  'index.version': '2',
  'feature.manyFiles': 'false',
};

export const SEED_FILES: Record<string, string> = {
  'current_work.yaml': [
    '# Work in progress: the issues and branches being worked on now.',
    '# active_issues: [{key, summary, branch, status, started}]',
    '# active_branches: [{name, issue, created, last_commit}]',
    'active_issues: []',
    'active_branches: []',
    '',
  ].join('\n'),
  'environments.yaml': [
    '# Environments: name -> {namespace, reserved_until, deployed_apps: [{name, image}], last_deploy}',
    '',
  ].join('\n'),
  'knowledge.yaml': '# Discovered facts, one key per topic.\n',
  'shared_context.yaml': '# Context shared across sessions and workstations.\n',
  'projects/.gitkeep': '',
};

export const GITIGNORE = [
  '# Local-only files: never committed, never synced.',
  '/.gitstate/local/',
  '*.lock',
  '',
].join('\n');

/** Returns true when this call created the repository, false when one was already there. */
export async function initRepository(dir: string, options: LockOptions & { author?: string }): Promise<boolean> {
  const gitdir = join(dir, '.git');
  const fs = new AtomicFs(gitdir);
  await git.init({ fs, dir, defaultBranch: 'main' });
  return withRepoLock(gitdir, options, async () => {
    const store = await new GitStore(dir).prepare();
    if (await store.headOid()) return false;
    for (const [key, value] of Object.entries(PINNED_CONFIG)) await git.setConfig({ fs, gitdir, path: key, value });
    for (const [path, content] of Object.entries({ ...SEED_FILES, '.gitignore': GITIGNORE })) {
      if (!(await exists(join(dir, path)))) {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    }
    // Files git would ignore (.gitignore, .git/info/exclude) stay out of the first commit.
    const paths = [];
    for (const path of await walkFiles(dir)) if (!(await git.isIgnored({ fs, dir, filepath: path }))) paths.push(path);
    const changes = await Promise.all(paths.map(async (path) => ({ path, content: await readFile(join(dir, path)) })));
    const message = commitMessage(paths.map((file) => ({ op: 'init' as const, file })), { op: 'init', subject: 'init state repository' });
    await store.commit({ changes, message, author: await resolveAuthor(dir, options.author), parent: null, writeWorkTree: false });
    await installHooks(gitdir).catch(() => undefined); // a hook of the user's own is left alone
    return true;
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every regular file under `dir` except `.git/`, as repo-relative POSIX paths. */
async function walkFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (path === '.git') continue;
    if (entry.isDirectory()) out.push(...(await walkFiles(dir, path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}
