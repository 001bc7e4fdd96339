/**
 * What a hand-made commit is about to record: the staged YAML/JSON files,
 * checked like any gitstate write (parse, schema, secret guard). Used by the
 * pre-commit hook, so it reads the index with the native git that is running it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { STATE_EXTENSIONS } from '../base/paths.js';
import type { StateRepo, ValidationResult } from '../core/repo.js';

const run = promisify(execFile);

export async function validateStaged(repo: StateRepo): Promise<ValidationResult[]> {
  const { stdout } = await run('git', ['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'], { cwd: repo.dir, maxBuffer: 1 << 26 });
  const paths = stdout.split('\0').filter((p) => p && STATE_EXTENSIONS.some((ext) => p.endsWith(ext)));
  const results: ValidationResult[] = [];
  for (const path of paths) {
    const { stdout: content } = await run('git', ['show', `:${path}`], { cwd: repo.dir, encoding: 'buffer', maxBuffer: 1 << 26 });
    try {
      await repo.checkFileContent(path, content);
      results.push({ file: path, ok: true });
    } catch (err) {
      const e = err as Error & { code?: string };
      results.push({ file: path, ok: false, error: e.message, code: e.code });
    }
  }
  return results;
}
