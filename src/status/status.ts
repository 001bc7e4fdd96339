/**
 * `status`: where the repository stands — branch, HEAD, files, and anything in
 * the work tree that differs from HEAD. Running it also finishes the recovery
 * of an interrupted write, exactly as the next write would; on a read-only
 * repository it only reads, and says an interrupted write is waiting.
 * Secrets already committed are reported (file, rule, the commit that added
 * them; never the value).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateRepo, RecoveryReport, SecretReport } from '../core/repo.js';
import type { GitStore, StatusRow } from '../git/store.js';

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
  try {
    recovered = await repo.recover();
  } catch (err) {
    if (!isReadOnly(err)) throw err;
    readOnly = true;
  }
  const head = await store.headOid();
  // isomorphic-git's status matrix writes refreshed stat data back to the index: read-only, compare contents instead
  const matrix = readOnly ? await readOnlyMatrix(store, head) : await store.statusMatrix();
  const changes: RepoStatus['changes'] = [];
  let files = 0;
  for (const [path, atHead, workdir, stage] of matrix) {
    if (atHead === 1) files++;
    const code = porcelain(atHead, workdir, stage);
    if (code) changes.push({ path, status: code });
  }
  const branch = (await store.branch()).replace(/^refs\/heads\//, '');
  const [{ secretsAt }, { reportHeld }, { loadAllowList }] = await Promise.all([import('../security/held.js'), import('../security/origin.js'), import('../security/allow.js')]);
  const secrets = await reportHeld(store, head, await secretsAt(store, head, await loadAllowList(repo.dir)));
  const status: RepoStatus = { dir: repo.dir, branch, head, files, clean: changes.length === 0, changes, recovered, secrets };
  if (readOnly) Object.assign(status, { readOnly, interrupted: store.readJournal() !== null });
  return status;
}

/**
 * Status rows without writing anything: each file at HEAD against the bytes on
 * disk, and files on disk that HEAD lacks (ignored ones left out). The index
 * is taken to match HEAD (it cannot have moved: nothing can write here).
 */
async function readOnlyMatrix(store: GitStore, head: string | null): Promise<StatusRow[]> {
  const rows: StatusRow[] = [];
  const tracked = new Set<string>();
  const walkTree = async (tree: string, prefix: string): Promise<void> => {
    for (const entry of await store.readTree(tree)) {
      const path = `${prefix}${entry.path}`;
      if (entry.type === 'tree') await walkTree(entry.oid, `${path}/`);
      else if (entry.type === 'blob') {
        tracked.add(path);
        let bytes: Buffer | null = null;
        try {
          bytes = readFileSync(join(store.dir, path));
        } catch {
          // removed
        }
        rows.push([path, 1, bytes === null ? 0 : store.hashBlob(bytes) === entry.oid ? 1 : 2, 1]);
      }
    }
  };
  if (head) await walkTree(await store.treeOf(head), '');
  const walkDisk = async (rel: string): Promise<void> => {
    for (const entry of readdirSync(join(store.dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (path === '.git' || tracked.has(path)) continue;
      if (entry.isDirectory()) {
        if (!(await store.isIgnored(`${path}/`))) await walkDisk(path);
      } else if (!(await store.isIgnored(path))) rows.push([path, 0, 2, 0]);
    }
  };
  await walkDisk('');
  return rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
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
