/**
 * Installing the hooks (hooks/pre-commit and hooks/commit-msg of this package)
 * into a state repository, with the path of this gitstate baked in, so
 * hand-made commits are checked even where `gitstate` is not on PATH.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's folder: the nearest one above this module holding hooks/pre-commit (the module may be in dist/, src/ or a bundle chunk). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'hooks', 'pre-commit')) || !existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find gitstate\'s hooks/pre-commit above its modules');
    dir = parent;
  }
  return dir;
}

const PACKAGE_ROOT = packageRoot();
export const CLI_PATH = join(PACKAGE_ROOT, 'dist/cli/main.js');
const MARK = '# installed by gitstate';

/** The hooks gitstate installs: pre-commit checks the files of a native commit, commit-msg its message. */
export const HOOKS = ['pre-commit', 'commit-msg'] as const;

/** Returns false when every hook was already installed as it would be now. A hook of the user's own is left alone (an error, after the others are installed). */
export async function installHooks(gitdir: string): Promise<boolean> {
  let changed = false;
  let refused: unknown;
  for (const name of HOOKS) {
    try {
      if (await installHook(gitdir, name)) changed = true;
    } catch (err) {
      refused ??= err;
    }
  }
  if (refused) throw refused;
  return changed;
}

async function installHook(gitdir: string, name: (typeof HOOKS)[number]): Promise<boolean> {
  const template = await readFile(join(PACKAGE_ROOT, 'hooks', name), 'utf8');
  const hook = template.replace('GITSTATE_CLI="${GITSTATE_CLI:-}"', `${MARK}\nGITSTATE_CLI="\${GITSTATE_CLI:-${CLI_PATH}}"`);
  const target = join(gitdir, 'hooks', name);
  const existing = await readFile(target, 'utf8').catch(() => null);
  if (existing === hook) return false;
  if (existing !== null && !existing.includes(MARK)) {
    throw new Error(`${target} exists and was not installed by gitstate; leaving it alone`);
  }
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, hook);
  await chmod(target, 0o755);
  return true;
}
