/**
 * The session builder: a compact summary of the state for an assistant's
 * context window — current work, environments (expired reservations flagged),
 * the newest knowledge and shared context, and with
 * `sinceLastSession` what changed since this machine's previous session (from
 * any host, pulled changes included). The last-session marker is per host, in
 * `.gitstate/local/` (ignored by git: never committed, never synced).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostName } from '../core/author.js';
import type { StateRepo } from '../core/repo.js';
import { UsageError } from '../errors.js';
import { redactText } from '../security/redact.js';
import { History } from '../history/history.js';
import { currentProject, type RouteOptions } from '../projects/routing.js';

export interface ContextOptions {
  /**
   * The project whose current_work the summary shows (its branch and tests
   * too); default: GITSTATE_PROJECT, else current_project in state.json.
   */
  project?: string;
  /** Show the root current_work.yaml whatever project is set. */
  root?: boolean;
  /** current_project as the caller's StateManager sees it (default: read from state.json). */
  currentProject?: RouteOptions['currentProject'];
  sinceLastSession?: boolean;
  /** Budget for the Markdown output (default 80 lines). */
  maxLines?: number;
  /** Move this host's last-session marker to HEAD (a session starts now). */
  markSession?: boolean;
  now?: Date;
}

export interface ContextData {
  host: string;
  head: string | null;
  /** From the project's current_work when one is set, else the root file's. */
  currentWork: { file: string; issues: Array<Record<string, unknown>>; branches: Array<Record<string, unknown>> };
  environments: Array<{ name: string; namespace?: string; reservedUntil?: string; expired: boolean; apps: string[] }>;
  knowledge: Array<[string, unknown]>;
  sharedContext: Array<[string, unknown]>;
  project?: { name: string; source: 'argument' | 'env' | 'state.json'; file: string; exists: boolean; branch?: string; lastTestRun?: string; testStatus?: string };
  /** What could not be read (a corrupt state.json, say); the rest is still shown. */
  warnings: string[];
  sinceLastSession?: { since: string | null; commits: Array<{ commit: string; date: string; host?: string; subject: string; changes: string[] }> };
}

const NEWEST = 5;

export async function buildContext(repo: StateRepo, options: ContextOptions = {}): Promise<ContextData> {
  const now = options.now ?? new Date();
  const read = async (file: string): Promise<unknown> => repo.get(file).catch(() => null);
  const warnings: string[] = [];
  if (options.root && options.project) throw new UsageError('give either a project or root, not both');
  let project: ReturnType<typeof currentProject> = { name: null, source: null };
  if (!options.root) {
    try {
      project = currentProject(repo.dir, { project: options.project, currentProject: options.currentProject });
    } catch (err) {
      if (options.project) throw err;
      warnings.push(`current project unknown, showing the root current_work.yaml: ${(err as Error).message}`);
    }
  }
  const workFile = project.name ? `projects/${project.name}/current_work.yaml` : 'current_work.yaml';
  const workValue = await read(workFile);
  const work = (isMap(workValue) ? workValue : {}) as Record<string, unknown>;
  const envFile = ((await read('environments')) ?? {}) as Record<string, unknown>;
  const envMap = (isMap(envFile.environments) ? envFile.environments : envFile) as Record<string, unknown>;
  const data: ContextData = {
    host: hostName(),
    head: await (await repo.store()).headOid(),
    currentWork: { file: workFile, issues: listOf(work.active_issues), branches: listOf(work.active_branches) },
    environments: Object.entries(envMap)
      .filter(([, v]) => isMap(v))
      .map(([name, v]) => {
        const env = v as Record<string, unknown>;
        const until = env.reserved_until === undefined || env.reserved_until === null ? undefined : String(env.reserved_until);
        const untilTime = until ? Date.parse(until.replace(' ', 'T')) : NaN;
        return {
          name,
          namespace: env.namespace === undefined ? undefined : String(env.namespace),
          reservedUntil: until,
          expired: Number.isFinite(untilTime) && untilTime < now.getTime(),
          apps: listOf(env.deployed_apps).map((a) => String(a.name)),
        };
      }),
    // the last keys of a file are its newest: listed newest first
    knowledge: Object.entries(((await read('knowledge')) ?? {}) as object).slice(-NEWEST).reverse(),
    sharedContext: Object.entries(((await read('shared_context')) ?? {}) as object).slice(-NEWEST).reverse(),
    warnings,
  };
  if (project.name && project.source) {
    data.project = {
      name: project.name,
      source: project.source,
      file: workFile,
      exists: workValue !== null,
      branch: str(work.branch),
      lastTestRun: str(work.last_test_run),
      testStatus: str(work.test_status),
    };
  }
  if (options.sinceLastSession) data.sinceLastSession = await changesSince(repo, await readMarker(repo));
  if (options.markSession) await writeMarker(repo, data.head);
  // An assistant reads this at every session start: a secret the repo already
  // holds (pushed with --no-verify elsewhere, committed by hand) is not repeated to it.
  return redactStrings(data);
}

function redactStrings<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map(redactStrings) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k), redactStrings(v)])) as T;
  }
  return value;
}

async function changesSince(repo: StateRepo, since: string | null): Promise<NonNullable<ContextData['sinceLastSession']>> {
  const history = new History(repo);
  const commits: NonNullable<ContextData['sinceLastSession']>['commits'] = [];
  if (!since) return { since, commits };
  for (const entry of await history.log({ limit: 200 })) {
    if (entry.commit === since) break;
    const changes: string[] = [];
    for (const diff of (await history.show(entry.commit)).diffs) {
      for (const c of diff.changes ?? []) changes.push(`${diff.path} ${c.kind === 'changed' ? '~' : c.kind === 'added' ? '+' : '-'} ${c.path || '(file)'}`);
      if (!diff.changes) changes.push(`${diff.path} changed`);
    }
    commits.push({ commit: entry.commit, date: entry.date, host: entry.host, subject: entry.subject, changes });
  }
  return { since, commits };
}

function markerPath(repo: StateRepo): string {
  return join(repo.dir, '.gitstate', 'local', `last-session-${hostName().replace(/[^\w.-]/g, '_')}.json`);
}

async function readMarker(repo: StateRepo): Promise<string | null> {
  try {
    return (JSON.parse(await readFile(markerPath(repo), 'utf8')) as { head?: string }).head ?? null;
  } catch {
    return null;
  }
}

async function writeMarker(repo: StateRepo, head: string | null): Promise<void> {
  await mkdir(join(repo.dir, '.gitstate', 'local'), { recursive: true });
  await writeFile(markerPath(repo), JSON.stringify({ head, at: new Date().toISOString() }));
}

/** The context as Markdown, cut to `maxLines` (the cut is said in the last line). */
export function renderContext(data: ContextData, maxLines = 80): string {
  const lines: string[] = ['# Session context', ''];
  for (const w of data.warnings) lines.push(`> ${w}`, '');
  lines.push(data.project ? `## Current work: project ${data.project.name} (${data.currentWork.file})` : '## Current work');
  if (data.project && !data.project.exists) lines.push(`- ${data.currentWork.file} does not exist yet`);
  if (data.currentWork.issues.length === 0) lines.push('- no active issues');
  for (const i of data.currentWork.issues) lines.push(`- ${i.key}${i.status ? ` [${i.status}]` : ''}${i.summary ? ` ${i.summary}` : ''}${i.branch ? ` (branch ${i.branch})` : ''}`);
  for (const b of data.currentWork.branches) lines.push(`- branch ${b.name}${b.issue ? ` for ${b.issue}` : ''}`);
  if (data.project) {
    const from = data.project.source === 'argument' ? '' : data.project.source === 'env' ? ' (from GITSTATE_PROJECT)' : ' (from current_project in state.json)';
    lines.push('', `## Project ${data.project.name}${from}`);
    lines.push(`- branch ${data.project.branch ?? '?'}; last test run ${data.project.lastTestRun ?? 'never'}: ${data.project.testStatus ?? 'unknown'}`);
  }
  if (data.environments.length > 0) {
    lines.push('', '## Environments');
    for (const e of data.environments) {
      const reserved = e.reservedUntil ? `, reserved until ${e.reservedUntil}${e.expired ? ' (EXPIRED)' : ''}` : '';
      lines.push(`- ${e.name}: ${e.namespace ?? '?'}${reserved}${e.apps.length ? `; apps ${e.apps.join(', ')}` : ''}`);
    }
  }
  for (const [title, entries] of [['Knowledge (newest)', data.knowledge], ['Shared context (newest)', data.sharedContext]] as const) {
    if (entries.length === 0) continue;
    lines.push('', `## ${title}`);
    for (const [k, v] of entries) lines.push(`- ${k}: ${oneLine(v)}`);
  }
  if (data.sinceLastSession) {
    lines.push('', '## Since your last session on this machine');
    if (!data.sinceLastSession.since) lines.push('- (no earlier session recorded here)');
    else if (data.sinceLastSession.commits.length === 0) lines.push('- nothing changed');
    for (const c of data.sinceLastSession.commits) {
      lines.push(`- ${c.commit.slice(0, 7)} ${c.date.slice(0, 16).replace('T', ' ')} ${c.host ?? '?'}: ${c.subject}`);
      for (const change of c.changes.slice(0, 3)) lines.push(`  - ${change}`);
    }
  }
  if (lines.length <= maxLines) return lines.join('\n');
  return [...lines.slice(0, Math.max(1, maxLines - 1)), `… ${lines.length - maxLines + 1} more lines (raise --max-lines)`].join('\n');
}

function listOf(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.filter(isMap) : [];
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

function oneLine(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text.replace(/\n/g, ' ');
}

