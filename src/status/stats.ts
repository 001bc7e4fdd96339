/**
 * `stats` / `memory_stats`: what the memory holds and how the repository is
 * doing — files and bytes per folder, commits (total, last 24 h, last 7 days)
 * and the newest writes from the history index, the session logs, the last
 * sync, pending conflict records, state.json's health, and the object store
 * (loose objects, packs). Cheap by design: no git process and no walk of trees
 * unless a full check is asked for (`fsck`).
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RepoError } from '../errors.js';
import type { StateRepo } from '../core/repo.js';
import { HistoryIndex } from '../history/index-file.js';
import type { SyncStatus } from '../sync/sync.js';
import { readStateFile } from '../state/manager.js';
import { readStateBytes } from '../base/files.js';
import { redactText } from '../security/redact.js';

export interface RepoStats {
  dir: string;
  head: string | null;
  /** State files (YAML and JSON) by folder; "." is the top level. */
  folders: Array<{ folder: string; files: number; bytes: number }>;
  totals: { files: number; bytes: number };
  commits: { total: number; last24h: number; last7d: number };
  /** The session logs, sessions/YYYY-MM-DD.yaml. */
  sessions: { days: number; entries: number; first: string | null; last: string | null };
  /** The newest commits, newest first. */
  newest: Array<{ commit: string; date: string; subject: string; host?: string; files: string[] }>;
  sync: SyncStatus;
  /** Conflict records sync kept in .gitstate/conflicts.yaml. */
  conflicts: { pending: number };
  /** Whether state.json can be read (a corrupt one says how to fix it). */
  stateJson: { ok: boolean; error?: string };
  objects: { loose: number; packs: number; packBytes: number };
  /** Only with `fsck: true`: native git's full check. */
  fsck?: { ok: boolean; problems: string[] };
}

export interface StatsOptions {
  /** Run `git fsck` (reads every object: not cheap). */
  fsck?: boolean;
  /** How many newest writes to list (default 5). */
  newest?: number;
  now?: Date;
}

const SESSION_FILE = /^sessions\/(\d{4}-\d{2}-\d{2})\.ya?ml$/;
const DAY = 86_400;

export async function repoStats(repo: StateRepo, options: StatsOptions = {}): Promise<RepoStats> {
  const now = (options.now ?? new Date()).getTime() / 1000;
  const store = await repo.store();
  const head = await store.headOid();
  const files = await repo.list();

  const byFolder = new Map<string, { files: number; bytes: number }>();
  const totals = { files: 0, bytes: 0 };
  for (const path of files) {
    const folder = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
    const bytes = statSync(join(repo.dir, path)).size;
    const entry = byFolder.get(folder) ?? { files: 0, bytes: 0 };
    entry.files++;
    entry.bytes += bytes;
    byFolder.set(folder, entry);
    totals.files++;
    totals.bytes += bytes;
  }

  const index = new HistoryIndex(store);
  await index.update(head);
  const commits = { total: 0, last24h: 0, last7d: 0 };
  const newest: RepoStats['newest'] = [];
  for (const record of index.walk(head)) {
    commits.total++;
    if (record.t >= now - DAY) commits.last24h++;
    if (record.t >= now - 7 * DAY) commits.last7d++;
    if (newest.length < (options.newest ?? 5)) {
      // a native commit's subject or file name may hold a secret: shown redacted, as log shows it
      const entry: RepoStats['newest'][number] = { commit: record.c, date: new Date(record.t * 1000).toISOString(), subject: redactText(record.s), files: Object.keys(record.f).map(redactText).sort() };
      if (record.host) entry.host = record.host;
      newest.push(entry);
    }
  }

  const stats: RepoStats = {
    dir: repo.dir,
    head,
    folders: [...byFolder].map(([folder, v]) => ({ folder, ...v })).sort((a, b) => (a.folder < b.folder ? -1 : 1)),
    totals,
    commits,
    sessions: await sessionStats(repo, files),
    newest,
    sync: await (await import('../sync/sync.js')).syncStatus(repo),
    conflicts: { pending: await pendingConflicts(repo) },
    stateJson: await stateJsonHealth(repo),
    objects: objectCounts(repo.gitdir),
  };
  if (options.fsck) stats.fsck = await fsck(repo.dir);
  return stats;
}

async function sessionStats(repo: StateRepo, files: string[]): Promise<RepoStats['sessions']> {
  const days = files.map((f) => SESSION_FILE.exec(f)?.[1]).filter((d): d is string => Boolean(d)).sort();
  let entries = 0;
  for (const file of files) {
    if (!SESSION_FILE.test(file)) continue;
    const value = (await repo.get(file).catch(() => null)) as { entries?: unknown } | null;
    if (Array.isArray(value?.entries)) entries += value.entries.length;
  }
  return { days: days.length, entries, first: days[0] ?? null, last: days[days.length - 1] ?? null };
}

async function pendingConflicts(repo: StateRepo): Promise<number> {
  const { CONFLICTS_FILE } = await import('../sync/merge.js');
  const bytes = await readStateBytes(repo.dir, CONFLICTS_FILE).catch(() => null);
  if (!bytes) return 0;
  try {
    const doc = parse(Buffer.from(bytes).toString('utf8')) as { conflicts?: unknown } | null;
    return Array.isArray(doc?.conflicts) ? doc.conflicts.length : 0;
  } catch {
    return 0;
  }
}

async function stateJsonHealth(repo: StateRepo): Promise<RepoStats['stateJson']> {
  try {
    await readStateFile(repo.dir);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Loose objects counted by name (no stat per object), packs by their size. */
function objectCounts(gitdir: string): RepoStats['objects'] {
  const objects = join(gitdir, 'objects');
  const out = { loose: 0, packs: 0, packBytes: 0 };
  for (const dir of safeReaddir(objects)) {
    if (/^[0-9a-f]{2}$/.test(dir)) out.loose += safeReaddir(join(objects, dir)).filter((n) => /^[0-9a-f]{38}$/.test(n)).length;
  }
  for (const name of safeReaddir(join(objects, 'pack'))) {
    if (!name.endsWith('.pack')) continue;
    out.packs++;
    out.packBytes += statSync(join(objects, 'pack', name)).size;
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Native git's fsck: a summary (ok, and the first problems it names). */
function fsck(dir: string): Promise<{ ok: boolean; problems: string[] }> {
  return new Promise((resolve, reject) => {
    execFile('git', ['fsck', '--no-progress'], { cwd: dir, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new RepoError('the fsck check needs native git; install git (apt-get install git) or leave out --fsck'));
      const problems = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).filter((l) => l && !/^(?:Checking|dangling) /.test(l));
      resolve({ ok: !err, problems: problems.slice(0, 20) });
    });
  });
}

/** The stats for people: a few aligned lines. */
export function renderStats(s: RepoStats): string {
  const kb = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
  const lines = [`state dir: ${s.dir}`, `files:     ${s.totals.files} (${kb(s.totals.bytes)})`];
  for (const f of s.folders) lines.push(`  ${f.folder.padEnd(24)} ${String(f.files).padStart(5)} files ${kb(f.bytes).padStart(10)}`);
  lines.push(`commits:   ${s.commits.total} total, ${s.commits.last24h} in the last 24 h, ${s.commits.last7d} in the last 7 days`);
  lines.push(`sessions:  ${s.sessions.days} day(s) logged, ${s.sessions.entries} entries${s.sessions.first ? ` (${s.sessions.first} to ${s.sessions.last})` : ''}`);
  lines.push('newest:');
  for (const n of s.newest) lines.push(`  ${n.commit.slice(0, 7)} ${n.date.slice(0, 16).replace('T', ' ')} ${n.host ?? '?'}: ${n.subject}`);
  lines.push(
    s.sync.remote
      ? `sync:      ${s.sync.remote}: ${s.sync.ahead} ahead, ${s.sync.behind} behind; last sync ${s.sync.lastSync ?? 'never'}${s.sync.lastError ? `; last error: ${s.sync.lastError}` : ''}`
      : 'sync:      no remote',
  );
  lines.push(`conflicts: ${s.conflicts.pending} record(s) pending in .gitstate/conflicts.yaml`);
  lines.push(`state.json: ${s.stateJson.ok ? 'ok' : s.stateJson.error}`);
  lines.push(`objects:   ${s.objects.loose} loose, ${s.objects.packs} pack(s) of ${kb(s.objects.packBytes)}${s.objects.loose > 1000 ? ' (run "gitstate gc")' : ''}`);
  if (s.fsck) lines.push(`fsck:      ${s.fsck.ok ? 'ok' : 'FAILED'}${s.fsck.problems.length ? `: ${s.fsck.problems.join('; ')}` : ''}`);
  return lines.join('\n');
}
