/**
 * Real servers for the sync tests and the sync benchmark, started on
 * 127.0.0.1 high ports and stopped after:
 * - nginx + fcgiwrap serving `git http-backend`, with HTTP Basic auth, over
 *   http or https (a self-signed certificate made with openssl);
 * - OpenSSH's sshd with a generated host key and client key.
 * Everything runs as the current user (root in CI), so the CGI and the bare
 * repositories have one owner. A missing program is an error that says what
 * to install: these tests fail, never skip.
 */
// Plain JavaScript so the benchmarks (which run against dist/) can use it too.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL = 'install them with: apt-get install nginx fcgiwrap openssh-server openssl (.ci/run does)';

/** The path of a program, or an error naming the package to install. */
function need(program, candidates = []) {
  for (const path of candidates) if (existsSync(path)) return path;
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`the real-server sync tests need ${program}, which is not installed; ${INSTALL}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port (the server is up), or rejects after `ms`. */
async function waitForPort(port, child, ms = 15_000) {
  const until = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (status ${child.exitCode}) before listening on ${port}: ${child.stderrText ?? ''}`);
    const ok = await new Promise((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`no server on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(command, args, options = {}) {
  // its own process group: stopping it stops the workers it forked too (fcgiwrap -c 4 leaves four otherwise)
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...options });
  child.stderrText = '';
  child.stderr.on('data', (d) => (child.stderrText += d));
  return child;
}

function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    const signal = (name) => {
      try {
        process.kill(-child.pid, name);
      } catch {
        child.kill(name);
      }
    };
    child.once('exit', () => {
      signal('SIGKILL'); // workers still alive once their parent is gone
      resolve(undefined);
    });
    signal('SIGTERM');
    setTimeout(() => signal('SIGKILL'), 3000).unref();
  });
}

/** A bare repository under `root`, HEAD on main, pushes allowed over http. */
function makeBare(root, name) {
  const path = join(root, name);
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path]);
  execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: path });
  return path;
}

/**
 * nginx + fcgiwrap + git http-backend.
 * @param {{ https?: boolean, auth?: { username: string, password: string } }} [options]
 */
export async function startHttpServer(options = {}) {
  const nginx = need('nginx', ['/usr/sbin/nginx']);
  const fcgiwrap = need('fcgiwrap', ['/usr/sbin/fcgiwrap']);
  const backend = ['/usr/lib/git-core/git-http-backend', execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim() + '/git-http-backend'].find(existsSync);
  if (!backend) throw new Error('git http-backend is not installed (package git)');
  const home = mkdtempSync(join(tmpdir(), 'gitstate-nginx-'));
  const root = join(home, 'repos');
  mkdirSync(root);
  mkdirSync(join(home, 'logs'));
  const socket = join(home, 'fcgiwrap.sock');
  const port = await freePort();
  const scheme = options.https ? 'https' : 'http';
  let tls = '';
  let caFile;
  if (options.https) {
    need('openssl');
    caFile = join(home, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(home, 'key.pem'), '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls = `ssl_certificate ${caFile}; ssl_certificate_key ${join(home, 'key.pem')};`;
  }
  let auth = '';
  if (options.auth) {
    need('openssl');
    const hash = execFileSync('openssl', ['passwd', '-apr1', options.auth.password], { encoding: 'utf8' }).trim();
    writeFileSync(join(home, 'htpasswd'), `${options.auth.username}:${hash}\n`);
    auth = `auth_basic "git"; auth_basic_user_file ${join(home, 'htpasswd')};`;
  }
  writeFileSync(
    join(home, 'nginx.conf'),
    `user root;
worker_processes 1;
daemon off;
pid ${home}/nginx.pid;
error_log ${home}/logs/error.log error;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${home}/body; fastcgi_temp_path ${home}/fastcgi; proxy_temp_path ${home}/proxy; uwsgi_temp_path ${home}/uwsgi; scgi_temp_path ${home}/scgi;
  server {
    listen 127.0.0.1:${port}${options.https ? ' ssl' : ''};
    ${tls}
    client_max_body_size 0;
    location / {
      ${auth}
      include /etc/nginx/fastcgi_params;
      fastcgi_pass unix:${socket};
      fastcgi_param SCRIPT_FILENAME ${backend};
      fastcgi_param GIT_PROJECT_ROOT ${root};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_param REMOTE_USER $remote_user;
      fastcgi_request_buffering off;
      fastcgi_buffering off;
    }
  }
}
`,
  );
  const cgi = start(fcgiwrap, ['-c', '4', '-s', `unix:${socket}`]);
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(socket)) throw new Error(`fcgiwrap did not start: ${cgi.stderrText}`);
  const web = start(nginx, ['-p', home, '-c', join(home, 'nginx.conf')]);
  try {
    await waitForPort(port, web);
  } catch (err) {
    await stop(cgi);
    throw err;
  }
  const url = `${scheme}://127.0.0.1:${port}`;
  return {
    url,
    root,
    caFile,
    port,
    createRepo: (name) => (makeBare(root, name), `${url}/${name}`),
    /** Stop nginx (the server is down) without removing anything. */
    stopWeb: () => stop(web),
    close: async () => {
      await Promise.all([stop(web), stop(cgi)]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** OpenSSH's sshd with key login for the current user; `sshCommand` reaches it. */
export async function startSshServer() {
  const sshd = need('sshd', ['/usr/sbin/sshd']);
  need('ssh-keygen');
  const home = mkdtempSync(join(tmpdir(), 'gitstate-sshd-'));
  const root = join(home, 'repos');
  mkdirSync(root);
  // A root sshd needs its privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const keygen = (file) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  keygen(join(home, 'host_key'));
  keygen(join(home, 'client_key'));
  const { readFileSync } = await import('node:fs');
  writeFileSync(join(home, 'authorized_keys'), readFileSync(join(home, 'client_key.pub')));
  writeFileSync(join(home, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(home, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  writeFileSync(
    join(home, 'sshd_config'),
    `Port ${port}
ListenAddress 127.0.0.1
HostKey ${join(home, 'host_key')}
AuthorizedKeysFile ${join(home, 'authorized_keys')}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile ${join(home, 'sshd.pid')}
LogLevel ERROR
`,
  );
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  // A client config with an alias, as a user's ~/.ssh/config would have.
  const config = join(home, 'ssh_config');
  writeFileSync(
    config,
    `Host gitserver
  HostName 127.0.0.1
  Port ${port}
  User ${user}
Host *
  IdentityFile ${join(home, 'client_key')}
  IdentitiesOnly yes
  UserKnownHostsFile ${join(home, 'known_hosts')}
  StrictHostKeyChecking yes
  BatchMode yes
`,
  );
  const server = start(sshd, ['-D', '-e', '-f', join(home, 'sshd_config')]);
  await waitForPort(port, server);
  return {
    root,
    port,
    home,
    /** An ssh command that reaches this server (for GIT_SSH_COMMAND or core.sshCommand). */
    sshCommand: `ssh -F ${config}`,
    /** `ssh://user@127.0.0.1:port/...` for a new bare repository. */
    createRepo: (name) => (makeBare(root, name), `ssh://${user}@127.0.0.1:${port}${join(root, name)}`),
    /** The scp-like form through the config's alias: `gitserver:/path`. */
    aliasUrl: (name) => `gitserver:${join(root, name)}`,
    stop: () => stop(server),
    close: async () => {
      await stop(server);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * A pre-receive hook that moves `main` once, during the first push it sees:
 * another writer's commit lands between the push's advertisement and its ref
 * update, so that update fails ("failed to update ref") and the push must be
 * retried. On git 2.39 the hook runs with the incoming objects quarantined;
 * `git update-ref` there must not see the quarantine, so it is unset first.
 */
export function hookMovingMainOnce(bare) {
  hookMovingMain(bare, { always: false });
}

/** The same, on every push (`always`): the pusher never gets in. */
export function hookMovingMain(bare, { always }) {
  writeFileSync(
    join(bare, 'hooks', 'pre-receive'),
    `#!/bin/sh
cat >/dev/null
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
if [ ! -e moved-once ]; then
  ${always ? '' : 'touch moved-once'}
  tip=$(git rev-parse refs/heads/main)
  other=$(echo "a commit from elsewhere, made during the push" | GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=o@example.com GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=o@example.com git commit-tree "$tip^{tree}" -p "$tip")
  git update-ref refs/heads/main "$other" "$tip"
fi
exit 0
`,
    { mode: 0o755 },
  );
}

/** A pre-receive hook that refuses every push to main with the server's own text. */
export function hookProtectingMain(bare, text = 'main is protected: pushes need a review') {
  writeFileSync(join(bare, 'hooks', 'pre-receive'), `#!/bin/sh\necho "${text}" >&2\nexit 1\n`, { mode: 0o755 });
}

/** A pre-receive hook that kills the receiving git mid-push: the connection is cut with the pack half taken. */
export function hookCuttingPush(bare) {
  writeFileSync(join(bare, 'hooks', 'pre-receive'), `#!/bin/sh\nkill -9 $PPID\nsleep 1\nexit 1\n`, { mode: 0o755 });
}

export function removeHooks(bare) {
  rmSync(join(bare, 'hooks', 'pre-receive'), { force: true });
}
