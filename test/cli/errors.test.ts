/**
 * The error contract, command by command: every usage error is one
 * `gitstate: …` line (or one JSON error object with --json) and exit 2;
 * everything not found is NOT_FOUND, exit 3; nothing is written either way.
 * The tables run in-process; a few cases run through the built binary too.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateRepo } from '../../src/core/repo.js';
import { CLI, cleanupTempDirs, cli, git, headOid, tempDir } from '../helpers/repo.js';
import { runMain } from '../helpers/main.js';
import { tokens } from '../security/tokens.js';

afterAll(cleanupTempDirs);

let dir: string;
beforeAll(async () => {
  dir = join(await tempDir(), 'state');
  const repo = await StateRepo.init(dir);
  await repo.set('knowledge', 'a', 1);
  await repo.set('knowledge', 'b', 2);
  await repo.set('projects/backend/current_work', 'branch', 'main');
});

/** Usage errors: [arguments, what the message says]. */
const USAGE: Array<[string[], RegExp]> = [
  [['gte'], /^unknown command 'gte'; did you mean get\? \(see "gitstate --help"\)$/],
  [['--bogus'], /^unknown option '--bogus'/],
  [['get'], /^missing required argument 'file' \(see "gitstate get --help"\)$/],
  [['get', 'a', 'b', 'c'], /^too many arguments for 'get'/],
  [['get', '--bogus', 'knowledge'], /^unknown option '--bogus' \(see "gitstate get --help"\)$/],
  [['set', 'knowledge'], /^missing required argument 'key'/],
  [['set', 'knowledge', 'a'], /^missing required argument 'value'/],
  [['append', 'knowledge', 'list'], /^missing required argument 'value'/],
  [['delete'], /^missing required argument 'file'/],
  [['merge'], /^missing required argument 'file'/],
  [['write'], /^missing required argument 'file'/],
  [['init', 'extra'], /^too many arguments for 'init'/],
  [['ls', 'extra'], /^too many arguments for 'ls'/],
  [['commit', '--bogus'], /^unknown option '--bogus' \(see "gitstate commit --help"\)$/],
  [['--dir', '', 'set', 'knowledge', 'a', '3'], /^--dir needs a folder, got ""; leave --dir out/],
  [['--dir', ' ', 'get', 'knowledge'], /^--dir needs a folder, got " "/],
  [['log', '-n', 'abc'], /^-n needs a whole number, got "abc"$/],
  [['log', '--key', 'a'], /^--key needs a FILE/],
  [['log', '--since', 'someday'], /^--since needs a date \(2026-11-01.*yesterday.*"N days ago".*1h.*; got "someday"$/],
  [['show'], /^missing required argument 'rev'/],
  [['blame', 'knowledge'], /^missing required argument 'key'/],
  [['rollback', 'knowledge'], /^required option '--to <rev>' not specified/],
  [['revert'], /^missing required argument 'commit'/],
  [['undo', 'extra'], /^too many arguments for 'undo'/],
  [['state', 'get', 'a', 'b'], /^too many arguments for 'get'.* \(see "gitstate state get --help"\)$/],
  [['state', 'set', 'k'], /^missing required argument 'value'/],
  [['state', 'bogus'], /^unknown command 'bogus'/],
  [['remote', 'add', 'origin'], /^missing required argument 'url' \(see "gitstate remote add --help"\)$/],
  [['remote', 'remove'], /^missing required argument 'name'/],
  [['clone'], /^missing required argument 'url'/],
  [['sync', '--strategy', 'sideways'], /^--strategy must be one of newest, ours, theirs, manual, got "sideways"$/],
  [['pull', '--timeout', 'soon'], /^--timeout needs a number of milliseconds/],
  [['context', '--max-lines', 'x'], /^--max-lines needs a whole number/],
  [['context', '--format', 'xml'], /^--format must be markdown or json/],
  [['hooks', 'bogus'], /^unknown command 'bogus'/],
  [['gc', '--bogus'], /^unknown option '--bogus'/],
  // a malformed --author is input rejected (exit 3, AUTHOR): test/security/names-values.test.ts
];

/** Not found: [arguments, the message]. */
const NOT_FOUND: Array<[string[], RegExp]> = [
  [['get', 'nosuch'], /^nosuch\.yaml does not exist$/],
  [['get', 'knowledge', 'nokey'], /^no value at nokey in knowledge\.yaml$/],
  [['state', 'get', 'nokey'], /^no value at nokey in state\.json$/],
  [['state', 'delete', 'nokey'], /^no value at nokey in state\.json$/],
  [['delete', 'nosuch'], /^nosuch\.yaml does not exist$/],
  [['delete', 'knowledge', 'nokey'], /^no value at nokey in knowledge\.yaml$/],
  [['log', 'nosuch'], /^nosuch\.yaml has no history: no commit ever had it$/],
  [['log', 'knowledge', '--key', 'nokey'], /^no commit changed nokey in knowledge\.yaml$/],
  [['blame', 'knowledge', 'nokey'], /^no commit changed nokey in knowledge\.yaml$/],
  [['diff', '--file', 'nosuch'], /^nosuch\.yaml does not exist, on disk or at HEAD$/],
  [['diff', 'HEAD~1', 'HEAD', '--file', 'nosuch'], /^nosuch\.yaml does not exist at HEAD~1 or HEAD$/],
  [['diff', 'nosuchrev'], /^unknown revision nosuchrev$/],
  [['show', 'nosuchrev'], /^unknown revision nosuchrev$/],
  [['show', 'HEAD~99'], /^revision HEAD~99 goes back past the first commit$/],
  [['show', 'HEAD:nosuch'], /^nosuch\.yaml does not exist at HEAD$/],
  [['rollback', 'nosuch', '--to', 'HEAD'], /^nosuch\.yaml does not exist at HEAD$/],
  [['rollback', 'knowledge', '--to', 'deadbeef'], /^unknown revision deadbeef$/],
  [['revert', 'deadbeef'], /^unknown revision deadbeef$/],
  [['context', '--project', 'nosuch'], /^no project "nosuch": projects\/nosuch\/current_work\.yaml does not exist$/],
  [['commit', 'nosuch'], /^nosuch\.yaml does not exist, on disk or at HEAD$/],
];

describe('the error contract', () => {
  it.each(USAGE)('usage: %j', async (args, message) => {
    const head = headOid(dir);
    const text = await runMain(args, { dir });
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    const lines = text.stderr.split('\n');
    expect(lines).toHaveLength(2); // one line and its newline
    expect(lines[0]!.startsWith('gitstate: ')).toBe(true);
    expect(lines[0]!.slice('gitstate: '.length)).toMatch(message);
    const json = await runMain(['--json', ...args], { dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'USAGE', message: lines[0]!.slice('gitstate: '.length) } });
    expect(headOid(dir)).toBe(head);
  });

  it.each(NOT_FOUND)('not found: %j', async (args, message) => {
    const head = headOid(dir);
    const text = await runMain(args, { dir });
    expect(text.code).toBe(3);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/^gitstate: [^\n]*\n$/);
    expect(text.stderr.slice('gitstate: '.length, -1)).toMatch(message);
    const json = JSON.parse((await runMain(['--json', ...args], { dir })).stderr) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('NOT_FOUND');
    expect(json.error.message).toMatch(message);
    expect(headOid(dir)).toBe(head);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('a secret taken for an option is not echoed back by the usage error', async () => {
    for (const value of [tokens.pem, `-${tokens.github}`]) {
      for (const json of [false, true]) {
        const r = await runMain([...(json ? ['--json'] : []), 'set', 'knowledge', 'key', value], { dir });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(json ? /"code":"USAGE"/ : /^gitstate: unknown option '.*' \(see "gitstate set --help"\)\n$/);
        for (const secret of [tokens.github, 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn']) expect(r.stderr).not.toContain(secret);
      }
    }
  });

  it('no command: help on stderr, exit 2; with --json, a JSON error object alone', async () => {
    const bare = await runMain([], { dir });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: gitstate');
    const json = await runMain(['--json'], { dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'USAGE', message: 'a command is needed (see "gitstate --help")' } });
  });

  it('messages carry no library internals', async () => {
    const repo = await StateRepo.open(dir);
    await expect(repo.write('knowledge', 'a: 1\n---\nb: 2\n')).rejects.toThrow(/a second document starts here \(a "---" line\); a state file holds one document/);
    await expect(repo.write('knowledge', 'a: 1\n---\nb: 2\n')).rejects.not.toThrow(/parseAllDocuments/);
    await expect(repo.set('current_work', 'active_branches', [{ issue: 'x' }])).rejects.toThrow(/active_branches\[0\]\.name: expected string, but it is missing/);
  });

  it('the built binary prints exactly what the in-process runs print', async () => {
    for (const args of [['--json', 'gte'], ['gte'], ['log', '--key', 'a'], ['state', 'get', 'nokey'], ['--json', 'log', 'nosuch']]) {
      const bin = await cli(args, { dir });
      const inproc = await runMain(args, { dir });
      expect({ code: bin.code, stdout: bin.stdout, stderr: bin.stderr }, args.join(' ')).toEqual(inproc);
    }
  });

  it('a reader that closed the pipe early (`gitstate log | head -1`) ends the output, not the command: no stack, the exit code of what ran', async () => {
    for (const args of [['log'], ['--help'], ['get', 'knowledge'], ['show', 'HEAD:knowledge.yaml']]) {
      const child = spawn(process.execPath, [CLI, '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GITSTATE_DIR: '' } });
      child.stdout.destroy(); // closed before the command can write a byte: every write meets EPIPE
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect({ code, stderr }, args.join(' ')).toEqual({ code: 0, stderr: '' });
    }
  });

  it('a closed standard error changes no exit code: a missing key is still 3, a write that changed nothing still 0', async () => {
    for (const [args, expected] of [[['get', 'knowledge', 'nope'], 3], [['set', 'knowledge', 'a', '1'], 0]] as const) {
      const child = spawn(process.execPath, [CLI, '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GITSTATE_DIR: '' } });
      child.stderr.destroy(); // closed before the command can write a byte
      child.stdout.resume();
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code, args.join(' ')).toBe(expected);
    }
  });
});
