/**
 * Which state repo a command means, as git finds its repo: `--dir`, else
 * GITSTATE_DIR, else the nearest state repo at or above the current folder,
 * else `./state`. `~` and `$HOME` at the start of a path are the home folder.
 *
 * A state repo is a git repo with gitstate's marker (`.gitstate/format`), or
 * one made before the marker existed: a git repo with gitstate's pinned config
 * or a `.gitstate/` folder. Plain file reads only: no git library is loaded, so
 * a one-shot `gitstate get` stays fast.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { RepoError } from '../errors.js';
import { FORMAT_FILE } from './format.js';

export interface StateDirChoice {
  /** The directory chosen (absolute). */
  dir: string;
  /** What chose it. */
  source: 'option' | 'env' | 'found' | 'default';
  /** The folders looked in for a state repo, nearest first (discovery only). */
  looked: string[];
}

/** `~`, `~/x`, `$HOME`, `$HOME/x` and `${HOME}/x` with the home folder put in; other paths as they are. */
export function expandHome(path: string, home: string = process.env.HOME || homedir()): string {
  const match = /^(~|\$HOME|\$\{HOME\})(?=$|[/\\])/.exec(path);
  return match ? home + path.slice(match[0].length) : path;
}

/** The state directory for a command: see the module comment. */
export function chooseStateDir(options: { dir?: string; env?: string; cwd?: string }): StateDirChoice {
  const cwd = options.cwd ?? process.cwd();
  if (options.dir) return { dir: resolve(cwd, expandHome(options.dir)), source: 'option', looked: [] };
  if (options.env) return { dir: resolve(cwd, expandHome(options.env)), source: 'env', looked: [] };
  const looked: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    looked.push(dir);
    if (stateRepoKind(dir)) return { dir, source: 'found', looked };
    if (dirname(dir) === dir) break;
  }
  return { dir: join(resolve(cwd), 'state'), source: 'default', looked };
}

/**
 * Whether `dir` is the top of a state repo: 'marked' (it has the marker),
 * 'legacy' (made before the marker: gitstate's pinned config or a `.gitstate/`
 * folder), or null (not a git repo, or a git repo gitstate never set up).
 */
export function stateRepoKind(dir: string): 'marked' | 'legacy' | null {
  if (!isGitRepo(dir)) return null;
  if (existsSync(join(dir, FORMAT_FILE))) return 'marked';
  if (isDir(join(dir, '.gitstate')) || hasPinnedConfig(dir)) return 'legacy';
  return null;
}

/** A work tree's top: `.git` is a folder with HEAD in it. */
export function isGitRepo(dir: string): boolean {
  return existsSync(join(dir, '.git', 'HEAD'));
}

/** The nearest folder at or above `dir` that is the top of a git repo, or null. */
export function enclosingGitRepo(dir: string): string | null {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return null;
  }
}

/** `git init` never writes these; gitstate's init and clone pin them (core/init.ts). */
function hasPinnedConfig(dir: string): boolean {
  let text: string;
  try {
    text = readFileSync(join(dir, '.git', 'config'), 'utf8');
  } catch {
    return false;
  }
  return /^\s*manyfiles\s*=\s*false\s*$/im.test(text) && /^\s*splitindex\s*=\s*false\s*$/im.test(text);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The error for a command that found no state repo: where it looked, and how to
 * point at one. It never suggests a command that would make a repo inside another.
 */
export function noStateRepoError(choice: StateDirChoice): RepoError {
  const where =
    choice.source === 'option'
      ? `at ${choice.dir} (from --dir)`
      : choice.source === 'env'
        ? `at ${choice.dir} (from GITSTATE_DIR)`
        : `found (looked in ${describeLooked(choice.looked)}, and at ${choice.dir})`;
  const plainGit = isGitRepo(choice.dir) && !stateRepoKind(choice.dir);
  const hint = plainGit
    ? `${choice.dir} is a git repository that gitstate has not set up; make it a state repo with "gitstate --dir ${choice.dir} init"`
    : `give its folder with --dir DIR or GITSTATE_DIR=DIR, or create one with "gitstate --dir DIR init" (for example DIR=~/state)`;
  return new RepoError(`no state repository ${where}; ${hint}`, { dir: choice.dir, looked: choice.looked });
}

function describeLooked(looked: string[]): string {
  if (looked.length === 0) return 'no folder';
  if (looked.length === 1) return looked[0]!;
  return `${looked[0]} and every folder above it`;
}
