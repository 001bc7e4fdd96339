/**
 * Who a commit is by: `--author "Name <email>"`, else GITSTATE_AUTHOR_NAME /
 * GITSTATE_AUTHOR_EMAIL, else git's own user.name / user.email (repo, global,
 * system config), else a default that names the host.
 */
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import type { Person } from '../git/store.js';

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

/** Resolve the author once per repository handle (git config costs a spawn). */
export async function resolveAuthor(dir: string, explicit?: string): Promise<Person> {
  if (explicit) return parseAuthor(explicit);
  const envName = process.env.GITSTATE_AUTHOR_NAME;
  const envEmail = process.env.GITSTATE_AUTHOR_EMAIL;
  const name = envName || (await gitConfig(dir, 'user.name'));
  const email = envEmail || (await gitConfig(dir, 'user.email'));
  const host = hostName();
  return { name: name || `gitstate on ${host}`, email: email || `gitstate@${host}` };
}

function gitConfig(dir: string, key: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--get', key], { cwd: dir, timeout: 5_000 }, (err, stdout) => {
      resolve(err ? undefined : stdout.trim() || undefined);
    });
  });
}
