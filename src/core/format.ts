/**
 * The repository format: a committed marker, `.gitstate/format`, holding the
 * version of the layout gitstate keeps in the repo (its committed files, such
 * as the conflict records, and its local ones under `.git/`: the journal, the
 * history index). Discovery looks for the marker; `StateRepo.open` refuses a
 * repo whose format is newer than this gitstate knows, rather than misread it.
 *
 * Repos made before the marker existed are format 0: the next write (or
 * `gitstate init`) adds the marker, in a commit of its own. A later format
 * lists its upgrade here: what it changes, and the file changes that make it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import type { FileChange } from './types.js';

export const FORMAT_FILE = '.gitstate/format';
/** The newest format this gitstate reads and writes. */
export const FORMAT_VERSION = 1;

export interface FormatUpgrade {
  /** The format this step leads to. */
  to: number;
  /** What the step changes, for the commit message. */
  what: string;
  /**
   * Committed files the step rewrites (conflict records in a new layout...), read
   * through `read` as the upgrade commit sees them. Local files under `.git/`
   * (the journal, the history index) are derived: a step may simply remove them.
   */
  changes?: (read: (path: string) => Promise<Uint8Array | null>) => Promise<FileChange[]>;
}

/** The upgrades, oldest first; the upgrade commit also writes the marker with the newest version. */
export const UPGRADES: readonly FormatUpgrade[] = [{ to: 1, what: 'add the format marker (.gitstate/format)' }];

/** The marker's text for a format version. */
export function formatText(version: number = FORMAT_VERSION): string {
  return `${version}\n`;
}

/**
 * The format named by marker text: a whole number on the first line that is not
 * a comment. Anything else is an error: an unreadable marker is never guessed at.
 */
export function parseFormat(text: string, where: string): number {
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const version = line === undefined ? NaN : Number(line.trim());
  if (!Number.isInteger(version) || version < 1) {
    throw new RepoError(`${where} does not hold a format version (a whole number); restore it with "git -C ${where.replace(/\/\.gitstate\/format$/, '')} checkout HEAD -- ${FORMAT_FILE}"`);
  }
  return version;
}

/** The format of the state repo at `dir` as its work tree says: 0 when it has no marker. */
export function readFormat(dir: string): number {
  let text: string;
  try {
    text = readFileSync(join(dir, FORMAT_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 0;
    throw err;
  }
  return parseFormat(text, join(dir, FORMAT_FILE));
}

/** Refuse a repo written by a newer gitstate: its files may mean something this one does not know. */
export function assertFormatKnown(dir: string): number {
  const version = readFormat(dir);
  if (version > FORMAT_VERSION) {
    throw new RepoError(
      `${dir} is a state repo of format ${version}, made by a newer gitstate; this one reads format ${FORMAT_VERSION} at most: upgrade gitstate to use it`,
      { format: version, supported: FORMAT_VERSION },
    );
  }
  return version;
}

/** The upgrade steps from `version` to the current format. */
export function upgradesFrom(version: number): FormatUpgrade[] {
  return UPGRADES.filter((u) => u.to > version && u.to <= FORMAT_VERSION);
}
