/**
 * The committer identity from the repository's own config (`user.name`,
 * `user.email` in .git/config), read without loading isomorphic-git or
 * spawning git: it is needed on every CLI write. git's syntax for these keys:
 * section and key names are case-insensitive, values may be quoted, carry
 * escapes (\" \\ \n \t) and end in a `#`/`;` comment; the last value wins.
 * Other sections, subsections (`[user "x"]`) and includes are not followed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  name?: string;
  email?: string;
}

export function readIdentity(gitdir: string): Identity {
  let text: string;
  try {
    text = readFileSync(join(gitdir, 'config'), 'utf8');
  } catch {
    return {};
  }
  const identity: Identity = {};
  let inUser = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const section = /^\[\s*([A-Za-z0-9.-]+)\s*(?:"[^"]*")?\s*\]/.exec(line);
    if (section) {
      inUser = section[1]!.toLowerCase() === 'user' && !/"/.test(line);
      const rest = line.slice(section[0].length).trim();
      if (!inUser || !rest) continue;
      assign(identity, rest); // `[user] name = x` on one line
      continue;
    }
    if (inUser) assign(identity, line);
  }
  return identity;
}

function assign(identity: Identity, line: string): void {
  const match = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
  if (!match) return;
  const key = match[1]!.toLowerCase();
  if (key !== 'name' && key !== 'email') return;
  identity[key] = parseValue(match[2] ?? '');
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
