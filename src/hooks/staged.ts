/**
 * What a hand-made commit is about to record: every staged file, checked like
 * any gitstate commit. YAML/JSON files must parse and pass their schema; and
 * the commit guard (security/guard.ts) runs over all of it — the bytes and
 * names of every staged file (not only state files), the author and
 * committer native git will record, nothing under `.gitstate/local/`, no name
 * differing from another only in case — against HEAD (and MERGE_HEAD while
 * merging), so a secret HEAD already holds does not block the commit.
 * Used by the pre-commit hook, so it reads the index with the native git that
 * is running it. (The message is not known yet at pre-commit.)
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { STATE_EXTENSIONS } from '../base/paths.js';
import type { StateRepo, ValidationResult } from '../core/repo.js';
import type { FileChange, Person } from '../core/types.js';

const run = promisify(execFile);

export async function validateStaged(repo: StateRepo): Promise<ValidationResult[]> {
  const { stdout } = await run('git', ['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'], { cwd: repo.dir, maxBuffer: 1 << 26 });
  const paths = stdout.split('\0').filter(Boolean);
  const results: ValidationResult[] = [];
  const changes: FileChange[] = [];
  for (const path of paths) {
    const { stdout: content } = await run('git', ['show', `:${path}`], { cwd: repo.dir, encoding: 'buffer', maxBuffer: 1 << 26 });
    changes.push({ path, content });
    if (!STATE_EXTENSIONS.some((ext) => path.endsWith(ext))) continue;
    try {
      await repo.checkFileContent(path, content);
      results.push({ file: path, ok: true });
    } catch (err) {
      const e = err as Error & { code?: string };
      results.push({ file: path, ok: false, error: e.message, code: e.code });
    }
  }
  if (changes.length === 0) return results;
  const [{ guardCommit, storeReader }, { loadAllowList }, store] = await Promise.all([import('../security/guard.js'), import('../security/allow.js'), repo.store()]);
  const head = await store.headOid();
  const parents = [...(head ? [head] : []), ...mergeHeads(repo.gitdir)];
  try {
    const [author, committer] = await Promise.all([ident(repo.dir, 'GIT_AUTHOR_IDENT'), ident(repo.dir, 'GIT_COMMITTER_IDENT')]);
    await guardCommit({ message: '', author, committer, changes, parents }, storeReader(store), await loadAllowList(repo.dir));
  } catch (err) {
    const e = err as Error & { code?: string };
    // a state file already reported as invalid need not be reported twice
    if (!results.some((r) => !r.ok && r.error === e.message)) results.push({ file: '(commit)', ok: false, error: e.message, code: e.code });
  }
  return results;
}

/** Who native git will record: `git var GIT_AUTHOR_IDENT` is "Name <email> time zone". */
async function ident(dir: string, which: 'GIT_AUTHOR_IDENT' | 'GIT_COMMITTER_IDENT'): Promise<Person> {
  const { stdout } = await run('git', ['var', which], { cwd: dir });
  const match = /^(.*?) <([^>]*)> \d+ [+-]\d{4}$/.exec(stdout.trim());
  return match ? { name: match[1]!, email: match[2]! } : { name: stdout.trim(), email: '' };
}

/** The other parents of a merge being committed. */
function mergeHeads(gitdir: string): string[] {
  try {
    return readFileSync(join(gitdir, 'MERGE_HEAD'), 'utf8').split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l));
  } catch {
    return [];
  }
}
