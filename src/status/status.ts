/**
 * `status`: where the repository stands — branch, HEAD, files, and anything in
 * the work tree that differs from HEAD. Running it also finishes the recovery
 * of an interrupted write, exactly as the next write would.
 */
import type { StateRepo, RecoveryReport } from '../core/repo.js';
import { listHandEdits, type HandEdit } from '../core/hand-edits.js';

export interface RepoStatus {
  dir: string;
  branch: string;
  head: string | null;
  /** Paths tracked at HEAD. */
  files: number;
  /** True when the work tree and index match HEAD. */
  clean: boolean;
  /** Paths that differ from HEAD, with a git-porcelain-like code. */
  changes: Array<{ path: string; status: string }>;
  /** Of those, the files edited by hand (or by another tool) that `gitstate commit` takes. */
  handEdits: HandEdit[];
  recovered: RecoveryReport;
}

export async function repoStatus(repo: StateRepo): Promise<RepoStatus> {
  const recovered = await repo.recover();
  const store = await repo.store();
  const matrix = await store.statusMatrix();
  const changes: RepoStatus['changes'] = [];
  let files = 0;
  for (const [path, head, workdir, stage] of matrix) {
    if (head === 1) files++;
    const code = porcelain(head, workdir, stage);
    if (code) changes.push({ path, status: code });
  }
  const branch = (await store.branch()).replace(/^refs\/heads\//, '');
  const handEdits = changes.length === 0 ? [] : await listHandEdits(repo);
  return { dir: repo.dir, branch, head: await store.headOid(), files, clean: changes.length === 0, changes, handEdits, recovered };
}

/** statusMatrix rows ([head, workdir, stage]) in `git status --porcelain` terms. */
function porcelain(head: number, workdir: number, stage: number): string | null {
  const key = `${head}${workdir}${stage}`;
  const codes: Record<string, string | null> = {
    '111': null,
    '020': '??',
    '022': 'A ',
    '023': 'AM',
    '003': 'AD',
    '121': ' M',
    '122': 'M ',
    '123': 'MM',
    '101': ' D',
    '100': 'D ',
    '110': 'D ',
  };
  return key in codes ? codes[key]! : key;
}
