/**
 * The identity read from .git/config without git: for every layout below it
 * must equal what `git config --get` answers for the same file.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig, readIdentity } from '../../src/git/config.js';
import { cleanupTempDirs, git, tempDir } from '../helpers/repo.js';

afterAll(cleanupTempDirs);

const CONFIGS = [
  '[user]\n\tname = Ann Example\n\temail = ann@example.org\n',
  '[User]\n  Name=Ann   Spaced   Out  \n  EMAIL = ann@example.org ; a comment\n',
  '[user]\n\tname = "Quoted  Name # not a comment"\n\temail = "a@b.c"  # trailing\n',
  '[user]\n\tname = Tab\\tand \\"quote\\" \\\\ backslash\n',
  '[user]\n\tname = First\n[core]\n\tbare = false\n[user]\n\tname = Last wins\n',
  '[user "work"]\n\tname = Not this one\n[user]\n\temail = only@email.org\n',
  '[core]\n\tname = not user\n',
  '# comment\n; another\n[user] name = On one line\n',
  '[user]\n\tname = Ümlaut Ünicode\n\temail = u@example.org\n',
];

describe('identity from .git/config', () => {
  it('answers as native git does', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    for (const config of CONFIGS) {
      writeFileSync(join(dir, '.git', 'config'), `[core]\n\trepositoryformatversion = 0\n${config}`);
      const native = (key: string) => {
        try {
          return execFileSync('git', ['config', '--file', join(dir, '.git', 'config'), '--get', key], { encoding: 'utf8' }).replace(/\n$/, '');
        } catch {
          return undefined;
        }
      };
      const identity = readIdentity(join(dir, '.git'));
      expect(identity.name, config).toBe(native('user.name'));
      expect(identity.email, config).toBe(native('user.email'));
    }
  });

  it('reads any key as native git does: subsections, case, continuations, keys without a value', async () => {
    const dir = await tempDir();
    git(dir, 'init', '-q');
    const config = [
      '[remote "origin"]\n\turl = https://example.org/state.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*',
      '[remote "Work.Host"]\n\tURL = git@work:state.git ; comment',
      '[remote.old]\n\turl = /srv/old.git',
      '[remote "q\\"uote"]\n\turl = "/srv/q uote.git"',
      '[gitstate "origin"]\n\tbranch = trunk',
      '[gitstate "origin"]\n\tbranch = last-wins',
      '[core]\n\tsshCommand = ssh -i key \\\n  -o BatchMode=yes\n\tfilemode',
    ].join('\n');
    writeFileSync(join(dir, '.git', 'config'), `${config}\n`);
    const native = (key: string) => {
      try {
        return execFileSync('git', ['config', '--file', join(dir, '.git', 'config'), '--get', key], { encoding: 'utf8' }).replace(/\n$/, '');
      } catch {
        return undefined;
      }
    };
    const keys = ['remote.origin.url', 'Remote.origin.URL', 'remote.Origin.url', 'remote.Work.Host.url', 'remote.work.host.url', 'remote.old.url', 'remote.q"uote.url', 'gitstate.origin.branch', 'core.sshcommand', 'core.filemode', 'remote.none.url', 'core'];
    for (const key of keys) expect(readConfig(join(dir, '.git'), key), key).toBe(native(key));
    expect(readConfig(join(dir, '.git'), 'remote.Work.Host.url')).toBe('git@work:state.git'); // the table compares something
  });

  it('is empty without a config file', async () => {
    expect(readIdentity(join(await tempDir(), '.git'))).toEqual({});
  });
});
