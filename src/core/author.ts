/**
 * Who a commit is by: `--author "Name <email>"`, else GITSTATE_AUTHOR_NAME /
 * GITSTATE_AUTHOR_EMAIL, else the state repository's own git config
 * (user.name / user.email, which init and clone copy from native git's global
 * config once), else a default that names the host. No child process: this
 * runs on every CLI write.
 */
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import type { GitStore } from '../git/store.js';
import type { Person } from './types.js';

let host: string | undefined;

/** The host recorded in commit trailers; GITSTATE_HOST overrides it (tests simulate machines). */
export function hostName(): string {
  // looked up once: every commit names it, and each lookup is a system call
  return process.env.GITSTATE_HOST || (host ??= hostname());
}

export function parseAuthor(text: string): Person {
  const match = /^\s*([^<>]+?)\s*<([^<>\s]+)>\s*$/.exec(text);
  if (!match) throw new UsageError(`--author must look like "Name <email>", got "${text}"`);
  return { name: match[1]!, email: match[2]! };
}

/** Resolve the author once per repository handle. */
export async function resolveAuthor(store: GitStore, explicit?: string): Promise<Person> {
  if (explicit) return parseAuthor(explicit);
  const config = store.identity();
  const name = process.env.GITSTATE_AUTHOR_NAME || config.name;
  const email = process.env.GITSTATE_AUTHOR_EMAIL || config.email;
  const host = hostName();
  return { name: name || `gitstate on ${host}`, email: email || `gitstate@${host}` };
}
