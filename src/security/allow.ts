/**
 * The allow-list: false positives the guard lets through, in
 * `.gitstate/secrets-allow.yaml`. A map of file -> entries; an entry is a key
 * path (`*` stands for one key or index) or a finding's fingerprint
 * (`fp:<16 hex>`, as the guard's message prints it). The file `"*"` applies
 * everywhere: every file, file names, the commit message and the author.
 *
 *     knowledge.yaml:
 *       - docs.token_format
 *       - examples[*].password
 *       - fp:3f9a0c2b7d6e5a41        # a token-looking id in a comment
 *     "*":
 *       - fp:0a1b2c3d4e5f6a7b        # a name that looks like a token
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SecretError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import type { Finding } from './scan.js';

export const ALLOW_FILE = '.gitstate/secrets-allow.yaml';
const EVERYWHERE = '*';
const FINGERPRINT = /^fp:([0-9a-f]{16})$/;

export interface AllowList {
  /** Is the value at `path` in `file` allowed (a key-path entry)? */
  allows(file: string, path: readonly Segment[]): boolean;
  /** Is this finding allowed, in `file` (null: a name, the message or the author)? */
  allowsFinding(file: string | null, finding: Finding): boolean;
}

export const emptyAllowList: AllowList = { allows: () => false, allowsFinding: () => false };

interface Entries {
  keys: RegExp[];
  fingerprints: Set<string>;
}

/** Build an allow-list from the parsed allow file. */
export function compileAllowList(spec: unknown): AllowList {
  if (spec === null || spec === undefined) return emptyAllowList;
  if (typeof spec !== 'object' || Array.isArray(spec)) throw new SecretError(`${ALLOW_FILE} must be a map of file -> list of key paths or fingerprints`);
  const byFile = new Map<string, Entries>();
  for (const [file, list] of Object.entries(spec)) {
    if (!Array.isArray(list) || !list.every((k) => typeof k === 'string')) {
      throw new SecretError(`${ALLOW_FILE}: ${file} must list key paths or fingerprints (fp:<16 hex digits>)`);
    }
    const name = file === EVERYWHERE || /\.(ya?ml|json)$/.test(file) ? file : `${file}.yaml`;
    const entries: Entries = { keys: [], fingerprints: new Set() };
    for (const item of list as string[]) {
      const fp = FINGERPRINT.exec(item.trim());
      if (fp) entries.fingerprints.add(fp[1]!);
      else entries.keys.push(patternToRegExp(item));
    }
    byFile.set(name, entries);
  }
  const keyAllowed = (file: string, path: readonly Segment[]) => {
    const key = formatKeyPath(path);
    return [byFile.get(file), byFile.get(EVERYWHERE)].some((e) => e?.keys.some((p) => p.test(key)));
  };
  return {
    allows: keyAllowed,
    allowsFinding(file, finding) {
      const lists = [file === null ? undefined : byFile.get(file), byFile.get(EVERYWHERE)];
      if (lists.some((e) => e?.fingerprints.has(finding.fingerprint))) return true;
      return file !== null && finding.segments !== undefined && keyAllowed(file, finding.segments);
    },
  };
}

function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^.[\\]]+');
  return new RegExp(`^${body}$`);
}

/** The allow-list in `text` (the allow file's content); a broken one is an error naming the file. */
export function parseAllowList(text: string): AllowList {
  let spec: unknown;
  try {
    spec = parse(text);
  } catch {
    throw new SecretError(`${ALLOW_FILE} is not valid YAML; fix it (it lists key paths and fingerprints, never values)`);
  }
  return compileAllowList(spec);
}

const allowCache = new Map<string, { stamp: string; list: AllowList }>();

/** The allow-list of a state repo, read from its work tree (missing file: nothing allowed); re-read when it changes. */
export async function loadAllowList(root: string): Promise<AllowList> {
  const path = join(root, ALLOW_FILE);
  let stamp: string;
  try {
    const s = statSync(path); // checked on every write: a sync stat costs microseconds
    stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return emptyAllowList;
  }
  const hit = allowCache.get(path);
  if (hit?.stamp === stamp) return hit.list;
  const list = parseAllowList(await readFile(path, 'utf8'));
  allowCache.set(path, { stamp, list });
  return list;
}
