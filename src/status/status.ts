/**
 * `status`: where the repository stands — branch, HEAD, files, and anything in
 * the work tree that differs from HEAD. Running it also finishes the recovery
 * of an interrupted write, exactly as the next write would; on a read-only
 * repository it only reads, and says an interrupted write is waiting.
 * Secrets already committed are reported (file, rule, the commit that added
 * them; never the value).
 */
import type { StateRepo, RecoveryReport, SecretReport } from '../core/repo.js';
import { listHandEdits, type HandEdit } from '../core/hand-edits.js';

export interface RepoStatus {
  dir: string;
  branch: string;
  head: string | null;
  /** HEAD does not name main (detached, another branch, a rebase): writes are refused until it does. */
  headProblem?: string;
  /** The index is one gitstate cannot read or write (its changes are then not listed), with the way out. */
  indexProblem?: string;
  /** Paths tracked at HEAD. */
  files: number;
  /** True when the work tree and index match HEAD. */
  clean: boolean;
  /** Paths that differ from HEAD, with a git-porcelain-like code. */
  changes: Array<{ path: string; status: string }>;
  /** Of those, the files edited by hand (or by another tool) that `gitstate commit` takes. */
  handEdits: HandEdit[];
  recovered: RecoveryReport;
  /** The repository could not be written (a read-only mount): nothing was recovered. */
  readOnly?: boolean;
  /** An interrupted write is waiting to be put right (read-only: the next writer will). */
  interrupted?: boolean;
  /** Secrets in HEAD's files and names that the allow-list does not let through. */
  secrets: SecretReport[];
}

export async function repoStatus(repo: StateRepo): Promise<RepoStatus> {
  const store = await repo.store();
  let recovered: RecoveryReport = { restored: [], reindexed: [] };
  let readOnly = false;
  const headProblem = store.headProblem();
  // an interrupted write is put right on main's checkout only: with HEAD elsewhere it waits
  if (!headProblem) {
    try {
      recovered = await repo.recover();
    } catch (err) {
      if (!isReadOnly(err)) throw err;
      readOnly = true;
    }
  }
  const head = await store.headOid();
  // an index gitstate cannot read (version 4, split) is reported with the way out, not a failure of status
  const { indexRefusalAt } = await import('../git/index-patch.js');
  const refused = indexRefusalAt(repo.dir, repo.gitdir, []);
  const indexProblem = refused && refused.kind !== 'sparse' ? `${refused.problem}. ${refused.fix}` : undefined;
  const matrix = indexProblem ? [] : await store.statusMatrix({ readOnly });
  const changes: RepoStatus['changes'] = [];
  let files = 0;
  for (const [path, atHead, workdir, stage] of matrix) {
    if (atHead === 1) files++;
    const code = porcelain(atHead, workdir, stage);
    if (code) changes.push({ path, status: code });
  }
  const [{ secretsAt }, { reportHeld }, { loadAllowList }] = await Promise.all([import('../security/held.js'), import('../security/origin.js'), import('../security/allow.js')]);
  const secrets = await reportHeld(store, head, await secretsAt(store, head, await loadAllowList(repo.dir)));
  const handEdits = changes.length === 0 ? [] : await listHandEdits(repo);
  const status: RepoStatus = { dir: repo.dir, branch: 'main', head, ...(headProblem ? { headProblem } : {}), ...(indexProblem ? { indexProblem } : {}), files, clean: changes.length === 0 && !indexProblem, changes, handEdits, recovered, secrets };
  if (readOnly) Object.assign(status, { readOnly, interrupted: store.readJournal() !== null });
  return status;
}

/** The error of a write to a read-only file system (or one this user may not write). */
function isReadOnly(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
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
