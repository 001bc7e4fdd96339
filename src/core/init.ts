/**
 * `gitstate init`: a git repository with pinned config, the seed layout, a
 * .gitignore for local-only files, and one initial commit. Files already in
 * the directory (a state folder being brought under version control) are kept
 * as they are and committed with the seeds; seeds never overwrite them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitStore } from '../git/store.js';
import type { Disk } from '../git/disk.js';
import { resolveAuthor } from './author.js';
import type { LockOptions } from './lock.js';
import { commitMessage } from './message.js';
import { installHooks } from '../hooks/install.js';
import { Writer } from './writer.js';
import type { FileChange } from './types.js';

/** Config isomorphic-git needs to read and write the repo correctly (see LIBRARIES.md). */
export const PINNED_CONFIG: Record<string, string> = {
  'core.repositoryformatversion': '0',
  'core.bare': 'false',
  'core.filemode': 'true',
  'core.autocrlf': 'false',
  'core.splitIndex': 'false',
  'core.untrackedCache': 'false',
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
  'environments.yaml': ['# Environments: name -> {namespace, reserved_until, deployed_apps: [{name, image}], last_deploy}', ''].join('\n'),
  'knowledge.yaml': '# Discovered facts, one key per topic.\n',
  'shared_context.yaml': '# Context shared across sessions and workstations.\n',
  'projects/.gitkeep': '',
};

export const GITIGNORE = ['# Local-only files: never committed, never synced.', '/.gitstate/local/', '*.lock', ''].join('\n');

/** Returns true when this call created the repository, false when one was already there. */
export async function initRepository(dir: string, options: LockOptions & { author?: string; disk?: Disk }): Promise<boolean> {
  const store = existsSync(join(dir, '.git', 'HEAD')) ? new GitStore(dir, options) : await GitStore.init(dir, options);
  if (await store.headOid()) return false;
  await configureRepository(store);
  // isIgnored below reads the rules from disk
  if (!existsSync(join(dir, '.gitignore'))) await writeFile(join(dir, '.gitignore'), GITIGNORE);
  const author = await resolveAuthor(store, options.author);
  const result = await new Writer(store, options).submit({
    author,
    checkFile: async () => undefined,
    skipHandEdits: true,
    prepare: async (view) => {
      if (view.head) return null; // another process initialised it meanwhile
      const changes: FileChange[] = [];
      const present = new Set(await walkFiles(dir));
      for (const [path, content] of Object.entries({ ...SEED_FILES, '.gitignore': GITIGNORE })) {
        if (!present.has(path)) changes.push({ path, content: Buffer.from(content) });
      }
      // Files git would ignore (.gitignore, .git/info/exclude) stay out of the first commit.
      for (const path of present) if (!(await store.isIgnored(path))) changes.push({ path, content: await readFile(join(dir, path)) });
      changes.sort((a, b) => (a.path < b.path ? -1 : 1));
      const message = commitMessage(changes.map((c) => ({ op: 'init' as const, file: c.path })), { op: 'init', subject: 'init state repository' });
      return { changes, message };
    },
  });
  if (!result.changed) return false;
  await installHooks(store.gitdir).catch(() => undefined); // a hook of the user's own is left alone
  return true;
}

/**
 * Pin the config a state repo needs, and copy native git's global user.name /
 * user.email into the repo's own config when it has none, so writes never ask
 * git for them (a child process per write).
 */
export async function configureRepository(store: GitStore): Promise<void> {
  for (const [key, value] of Object.entries(PINNED_CONFIG)) await store.setConfig(key, value);
  for (const key of ['user.name', 'user.email']) {
    if (await store.getConfig(key)) continue;
    const value = await nativeGlobalConfig(key);
    if (value) await store.setConfig(key, value);
  }
}

function nativeGlobalConfig(key: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--global', '--get', key], { timeout: 5_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
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
