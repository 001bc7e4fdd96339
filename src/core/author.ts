/**
 * Who a commit is by: `--author "Name <email>"`, else GITSTATE_AUTHOR_NAME /
 * GITSTATE_AUTHOR_EMAIL, else the state repository's own git config
 * (user.name / user.email, which init and clone copy from native git's global
 * config once), else a default that names the host. No child process: this
 * runs on every CLI write.
 *
 * Every source is checked the same way, because git writes what it is given:
 * a `<`, `>` or newline in a name makes a commit `git fsck --strict` rejects,
 * and a token pasted as a name would be committed. A bad one is refused
 * (exit 3) naming where it came from.
 */
import { hostname } from 'node:os';
import { ExitCode, GitstateError } from '../errors.js';
import { printable } from '../base/paths.js';
import { redactText, scanLine } from '../security/scan.js';
import type { GitStore } from '../git/store.js';
import type { Person } from './types.js';

/** An author or committer that git would record wrongly, or that holds a secret. */
export class AuthorError extends GitstateError {
  readonly code = 'AUTHOR';
  readonly exitCode = ExitCode.rejected;
}

let host: string | undefined;

/** The host recorded in commit trailers; GITSTATE_HOST overrides it (tests simulate machines). */
export function hostName(): string {
  // looked up once: every commit names it, and each lookup is a system call
  return process.env.GITSTATE_HOST || (host ??= hostname());
}

const MAX_PART = 256;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x1f\x7f]/;
const EMAIL = /^[^\s<>@]+@[^\s<>@]+$/;

/** A name git can record: no `<`, `>`, newline or other control character; not empty. */
export function checkName(name: string, source: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw new AuthorError(`the author name from ${source} is empty`);
  if (/[<>]/.test(trimmed) || CONTROL.test(trimmed)) {
    throw new AuthorError(`the author name from ${source} ("${printable(redactText(trimmed))}") may not contain "<", ">" or control characters such as a newline`);
  }
  if (trimmed.length > MAX_PART) throw new AuthorError(`the author name from ${source} is longer than ${MAX_PART} characters`);
  refuseSecret(trimmed, `the author name from ${source}`);
  return trimmed;
}

/** A plausible email: one `@` with text on both sides, no spaces, `<`, `>` or control characters. */
export function checkEmail(email: string, source: string): string {
  const trimmed = email.trim();
  if (!EMAIL.test(trimmed) || CONTROL.test(trimmed) || trimmed.length > MAX_PART) {
    throw new AuthorError(`the author email from ${source} ("${printable(redactText(trimmed))}") is not an email address like name@example.com`);
  }
  refuseSecret(trimmed, `the author email from ${source}`);
  return trimmed;
}

function refuseSecret(text: string, what: string): void {
  const [hit] = scanLine(text);
  if (hit) throw new AuthorError(`${what} looks like a secret (rule ${hit.rule}, fingerprint fp:${hit.fingerprint}); secrets are never committed`);
}

/** Check a person from one source (both parts came from it). */
export function checkPerson(person: Person, source: string): Person {
  return { name: checkName(person.name, source), email: checkEmail(person.email, source) };
}

/** `Name <email>`, as `--author` takes it. */
export function parseAuthor(text: string, source = '--author'): Person {
  const match = /^\s*([^<>]+?)\s*<([^<>]*)>\s*$/.exec(text);
  if (!match) throw new AuthorError(`${source} must look like "Name <email>", got "${printable(redactText(text))}"`);
  return checkPerson({ name: match[1]!, email: match[2]! }, source);
}

/** Resolve the author once per repository handle; each part is checked against the source it came from. */
export async function resolveAuthor(store: GitStore, explicit?: string): Promise<Person> {
  if (explicit) return parseAuthor(explicit);
  const host = hostName();
  const envName = process.env.GITSTATE_AUTHOR_NAME;
  const envEmail = process.env.GITSTATE_AUTHOR_EMAIL;
  const name = envName
    ? checkName(envName, 'GITSTATE_AUTHOR_NAME')
    : await fromConfig(store, 'user.name', checkName) ?? checkName(`gitstate on ${host}`, 'the host name (GITSTATE_HOST or the system)');
  const email = envEmail
    ? checkEmail(envEmail, 'GITSTATE_AUTHOR_EMAIL')
    : await fromConfig(store, 'user.email', checkEmail) ?? checkEmail(`gitstate@${host}`, 'the host name (GITSTATE_HOST or the system)');
  return { name, email };
}

async function fromConfig(store: GitStore, key: 'user.name' | 'user.email', check: (value: string, source: string) => string): Promise<string | undefined> {
  const value = store.identity()[key === 'user.name' ? 'name' : 'email'];
  return value ? check(value, `git config ${key} (${store.gitdir}/config)`) : undefined;
}
