/**
 * Values from the repository's own config (.git/config), read without loading
 * isomorphic-git or spawning git: the identity on every CLI write, a remote's
 * URL and branch before every sync (isomorphic-git's load alone costs a pull
 * ~25 ms). git's syntax: section and key names are case-insensitive,
 * subsections (`[remote "origin"]`) are case-sensitive (lower-cased in the old
 * `[remote.origin]` form), values may be quoted, carry escapes (\" \\ \n \t),
 * continue on the next line after a trailing backslash, and end in a `#`/`;`
 * comment; the last value wins. Includes are not followed. Writes go through
 * isomorphic-git (GitStore.setConfig).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  name?: string;
  email?: string;
}

export function readIdentity(gitdir: string): Identity {
  const entries = readEntries(gitdir);
  const identity: Identity = {};
  const name = lastValue(entries, 'user.name');
  const email = lastValue(entries, 'user.email');
  if (name !== undefined) identity.name = name;
  if (email !== undefined) identity.email = email;
  return identity;
}

/** One value (`section.key` or `section.subsection.key`, as `git config --get` names it), or undefined. */
export function readConfig(gitdir: string, key: string): string | undefined {
  return lastValue(readEntries(gitdir), key);
}

interface Entry {
  /** `section.subsection.key` with section and key lower-cased, as git compares them. */
  key: string;
  value: string;
}

function lastValue(entries: Entry[], key: string): string | undefined {
  const wanted = canonical(key);
  let value: string | undefined;
  for (const entry of entries) if (entry.key === wanted) value = entry.value;
  return value;
}

/** `Remote.Origin.URL` -> `remote.Origin.url`: the subsection (between the first and last dot) keeps its case. */
function canonical(key: string): string {
  const first = key.indexOf('.');
  const last = key.lastIndexOf('.');
  if (first === last) return key.toLowerCase(); // no subsection (or no dot at all)
  return `${key.slice(0, first).toLowerCase()}.${key.slice(first + 1, last)}.${key.slice(last + 1).toLowerCase()}`;
}

function readEntries(gitdir: string): Entry[] {
  let text: string;
  try {
    text = readFileSync(join(gitdir, 'config'), 'utf8');
  } catch {
    return [];
  }
  const entries: Entry[] = [];
  let section: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    const header = /^\[\s*([A-Za-z0-9.-]+)\s*(?:"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      const [name, ...old] = header[1]!.split('.');
      const sub = header[2] !== undefined ? header[2].replace(/\\(.)/g, '$1') : old.length > 0 ? old.join('.').toLowerCase() : null;
      section = sub === null ? name!.toLowerCase() : `${name!.toLowerCase()}.${sub}`;
      line = line.slice(header[0].length).trim(); // `[user] name = x` on one line
      if (!line) continue;
    }
    if (section === null || /^[#;]/.test(line)) continue;
    // a trailing backslash (outside a comment) continues the value on the next line
    while (endsInContinuation(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!;
    const match = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!match) continue;
    // a key without `=` (a boolean true) reads as empty, as `git config --get` prints it
    entries.push({ key: `${section}.${match[1]!.toLowerCase()}`, value: parseValue(match[2] ?? '') });
  }
  return entries;
}

/** An odd run of backslashes at the end, not inside a comment. */
function endsInContinuation(line: string): boolean {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\') {
      if (i === line.length - 1) return true;
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === ';')) return false;
  }
  return false;
}

/** A config value: quotes removed, escapes applied, a trailing comment outside quotes dropped, unquoted ends trimmed. */
function parseValue(raw: string): string {
  let out = '';
  let quoted = false;
  /** Length of `out` up to its last character that is not unquoted trailing whitespace. */
  let kept = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const next = raw[++i];
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'b' ? '\b' : (next ?? '');
      kept = out.length;
    } else if (c === '"') {
      quoted = !quoted;
      kept = out.length;
    } else if (!quoted && (c === '#' || c === ';')) break;
    else if (!quoted && (c === ' ' || c === '\t')) {
      if (out.length > 0) out += c; // leading whitespace is dropped
    } else {
      out += c;
      kept = out.length;
    }
  }
  return out.slice(0, kept);
}
