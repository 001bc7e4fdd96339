/**
 * A real git server for sync tests: a Node http server on 127.0.0.1 running
 * native `git http-backend` as CGI over bare repositories in a temp folder,
 * with pushes enabled. Faults can be switched on to test failure paths.
 */
// Plain JavaScript so the benchmarks (which run against dist/) can use it too.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @typedef {object} GitServer
 * @property {string} url  http://127.0.0.1:PORT
 * @property {string} root the folder of bare repositories
 * @property {(name: string) => string} createRepo a bare repository (HEAD on main, no commits); returns its URL
 * @property {'none' | 'error' | 'hang' | 'cut-push'} fault fail the next requests: 500, never answer, or cut a push mid-way
 * @property {((repo: string) => void) | undefined} [beforePush] runs before each push is served (e.g. another writer pushing first)
 * @property {{ username: string, password: string } | undefined} [auth] Basic-auth credentials required, if set
 * @property {string[]} requests
 * @property {() => Promise<void>} close
 */

/** @returns {Promise<GitServer>} */
export async function startGitServer() {
  const root = mkdtempSync(join(tmpdir(), 'gitstate-server-'));
  // the server's git, found once: a test may take git off PATH to check gitstate without it
  const PATH = process.env.PATH;
  const hanging = new Set();
  /** @type {GitServer} */
  const state = {
    url: '',
    root,
    fault: 'none',
    requests: [],
    createRepo(name) {
      execFileSync('git', ['init', '-q', '--bare', '-b', 'main', join(root, name)]);
      execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: join(root, name) });
      return `${state.url}/${name}`;
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve(undefined);
        });
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => handle(req, res));

  /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
  function handle(req, res) {
    const isPush = (req.url ?? '').includes('git-receive-pack') && req.method === 'POST';
    if (isPush && state.fault === 'cut-push') {
      // Take part of the upload, then drop the connection.
      req.once('data', () => res.socket?.destroy());
      return;
    }
    if (isPush && state.beforePush) state.beforePush(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/')[1] ?? '');
    state.requests.push(`${req.method} ${req.url}`);
    if (state.fault === 'hang') {
      hanging.add(res);
      return;
    }
    if (state.fault === 'error') {
      res.writeHead(500).end('injected failure');
      return;
    }
    if (state.auth) {
      const expected = `Basic ${Buffer.from(`${state.auth.username}:${state.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: req.headers['content-length'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        REMOTE_USER: state.auth?.username ?? 'gitstate-test',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    child.stdout.on('data', (chunk) => {
      if (headersSent) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      /** @type {Record<string, string>} */
      const headers = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    child.stdout.on('end', () => res.end());
    child.on('error', () => res.destroy());
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  state.url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  return state;
}
