/**
 * Secrets already in the repository: in the files of a commit (what `status`
 * reports), and everywhere in history (`gitstate doctor --secrets`). Reports
 * name the commit, the file, where in it and the rule — never the value.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GitStore } from '../git/store.js';
import { HistoryIndex } from '../history/index-file.js';
import type { AllowList } from './allow.js';
import { isStateFile, scanFile } from './file-scan.js';
import { CONTENT_RULES } from './rules.js';
import type { HeldSecret } from './guard.js';
import { redactText, scanLine, type Finding } from './scan.js';

/**
 * What each blob holds, kept in `.git/gitstate/secret-scan.json` (local, never
 * synced; ids are hashes, never values) so `status` scans only blobs it has
 * not seen. Keyed by the rules too: new rules scan everything again.
 */
class ScanCache {
  private readonly file: string;
  private entries: Record<string, Finding[]> = {};
  private dirty = false;
  private static readonly version = createHash('sha256')
    .update(CONTENT_RULES.map((r) => `${r.id}:${r.pattern.source}:${r.context?.source ?? ''}`).join('\n'))
    .digest('hex')
    .slice(0, 16);

  constructor(gitdir: string) {
    this.file = join(gitdir, 'gitstate', 'secret-scan.json');
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: string; blobs?: Record<string, Finding[]> };
      if (saved.version === ScanCache.version && saved.blobs) this.entries = saved.blobs;
    } catch {
      // none yet, or unreadable: scan again
    }
  }

  async scan(store: GitStore, blob: string, path: string): Promise<Finding[]> {
    const key = `${blob}:${isStateFile(path) ? 's' : 't'}`;
    const hit = this.entries[key];
    if (hit) return hit;
    const found = scanFile(path, await store.readBlob(blob));
    this.entries[key] = found;
    this.dirty = true;
    return found;
  }

  save(live: ReadonlySet<string>): void {
    if (!this.dirty) return;
    // keep what the commit scanned (older blobs drop out)
    const blobs = Object.fromEntries(Object.entries(this.entries).filter(([k]) => live.has(k)));
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(this.file, JSON.stringify({ version: ScanCache.version, blobs }));
    } catch {
      // a cache: a read-only repository scans again next time
    }
  }
}

/** Every secret in the files (and file names) of `commit` that the allow-list does not let through. */
export async function secretsAt(store: GitStore, commit: string | null, allow: AllowList): Promise<HeldSecret[]> {
  if (!commit) return [];
  const cache = new ScanCache(store.gitdir);
  const live = new Set<string>();
  const out: HeldSecret[] = [];
  const walk = async (tree: string, prefix: string): Promise<void> => {
    for (const entry of await store.readTree(tree)) {
      const path = `${prefix}${entry.path}`;
      if (entry.type === 'tree') {
        await walk(entry.oid, `${path}/`);
        continue;
      }
      if (entry.type !== 'blob') continue;
      for (const f of scanLine(path)) if (!allow.allowsFinding(null, f)) out.push(held(path, f, 'file name'));
      live.add(`${entry.oid}:${isStateFile(path) ? 's' : 't'}`);
      for (const f of await cache.scan(store, entry.oid, path)) if (!allow.allowsFinding(path, f)) out.push(held(path, f));
    }
  };
  await walk(await store.treeOf(commit), '');
  cache.save(live);
  return out;
}

function held(path: string, f: Finding, where = f.key ?? (f.line !== undefined ? `line ${f.line}` : 'name')): HeldSecret {
  return { file: redactText(path), where, rule: f.rule, fingerprint: f.fingerprint, id: f.id, path };
}

/** A secret a commit added, as `doctor --secrets` reports it. */
export interface HistoryFinding {
  commit: string;
  /** The file (redacted when the name is the secret), or "(commit message)", "(author)", "(committer)". */
  file: string;
  where: string;
  rule: string;
  fingerprint: string;
}

export interface HistoryScan {
  commits: number;
  blobs: number;
  findings: HistoryFinding[];
  /** Findings the allow-list lets through (not in `findings`). */
  allowed: number;
}

/**
 * Scan every commit reachable from `head` (HEAD by default) and not from
 * `since` (sync: the commits a pull brought in): its message, author and committer,
 * the names of the files it adds, and every file version it adds, counting a
 * secret against the commit whose version holds it while none of its parents'
 * versions do. Each blob is scanned once.
 */
export async function scanHistory(store: GitStore, allow: AllowList, range: { head?: string | null; since?: string | null } = {}): Promise<HistoryScan> {
  const head = range.head === undefined ? await store.headOid() : range.head;
  const result: HistoryScan = { commits: 0, blobs: 0, findings: [], allowed: 0 };
  if (!head) return result;
  const index = new HistoryIndex(store);
  await index.update(head);
  // `since`: only the commits it does not already hold (what a pull brought in)
  const known = new Set<string>();
  if (range.since) for (const record of index.walk(range.since)) known.add(record.c);
  const byBlob = new Map<string, Finding[]>();
  const scanBlob = async (blob: string, path: string): Promise<Finding[]> => {
    let found = byBlob.get(blob);
    if (!found) {
      found = scanFile(path, await store.readBlob(blob));
      byBlob.set(blob, found);
      result.blobs++;
    }
    return found;
  };
  const report = (commit: string, file: string | null, shown: string, where: string, f: Finding) => {
    if (allow.allowsFinding(file, f)) result.allowed++;
    else result.findings.push({ commit, file: shown, where, rule: f.rule, fingerprint: f.fingerprint });
  };
  for (const record of index.walk(head)) {
    if (known.has(record.c)) continue;
    result.commits++;
    const commit = await store.readCommit(record.c);
    for (const f of scanLine(commit.message)) report(record.c, null, '(commit message)', 'message', f);
    for (const f of scanLine(`${commit.author.name} ${commit.author.email}`)) report(record.c, null, '(author)', 'author', f);
    if (commit.committer.name !== commit.author.name || commit.committer.email !== commit.author.email) {
      for (const f of scanLine(`${commit.committer.name} ${commit.committer.email}`)) report(record.c, null, '(committer)', 'committer', f);
    }
    for (const [path, blob] of Object.entries(changedBlobs(record.f))) {
      const before: Array<string | null> = [];
      for (const parent of record.p) before.push(await store.blobOidAt(parent, path));
      const shown = redactText(path);
      if (before.every((b) => b === null)) for (const f of scanLine(path)) report(record.c, null, shown, 'file name', f);
      const found = await scanBlob(blob, path);
      if (found.length === 0) continue;
      const heldIds = new Set<string>();
      for (const b of before) if (b) for (const f of await scanBlob(b, path)) heldIds.add(f.id);
      for (const f of found) if (!heldIds.has(f.id)) report(record.c, path, shown, f.key ?? (f.line !== undefined ? `line ${f.line}` : 'name'), f);
    }
  }
  return result;
}

function changedBlobs(changes: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(changes).filter((e): e is [string, string] => e[1] !== null));
}
