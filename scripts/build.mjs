#!/usr/bin/env node
// Build: the library with tsc (dist/, with types), then the CLI bundled by
// esbuild into dist/cli/bundle.cjs, the launcher dist/cli/main.js (the path
// installed hooks and MCP configurations name; src/cli/launch.ts) and the V8
// code caches it runs the bundle with. Skipped when dist/ is newer than every input, so
// `npm ci` (prepare) followed by `npm test` (pretest) builds once.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build.mjs'];

function newest(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const force = process.argv.includes('--force');
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...inputs.map((p) => newest(join(root, p))))) {
  console.log('gitstate: dist/ is up to date');
  process.exit(0);
}

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
const { build } = await import('esbuild');
const cli = join(root, 'dist/cli');
// The CLI ships as the bundle and its launcher alone: tsc's per-module output for src/cli goes.
rmSync(cli, { recursive: true, force: true });
// zod goes into the bundle as one CommonJS closure (why: src/base/zod.ts): src/base/zod.ts is
// bundled on its own first, in memory, and the CLI bundle takes that in its place. Its inline
// source map carries zod's own file names through to the CLI's.
const [zodClosure] = (
  await build({ entryPoints: [join(root, 'src/base/zod.ts')], outfile: join(cli, 'zod.cjs'), write: false, bundle: true, format: 'cjs', platform: 'node', target: 'node20', minifyWhitespace: true, sourcemap: 'inline', logLevel: 'warning' })
).outputFiles;
const zodAsClosure = {
  name: 'zod-as-closure',
  setup(b) {
    b.onResolve({ filter: /\/base\/zod\.js$/ }, (args) => (args.importer.startsWith(join(root, 'src')) ? { path: zodClosure.path } : undefined));
    b.onLoad({ filter: /\/zod\.cjs$/ }, (args) => (args.path === zodClosure.path ? { contents: zodClosure.text, loader: 'js' } : undefined));
  },
};
// The CLI: one CommonJS file, run by the launcher below with V8's code caches.
const result = await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(cli, 'bundle.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Required from node_modules at run time, on first use, rather than carried in the bundle: a call
  // reads the whole bundle and its code cache, and these serve few commands (isomorphic-git: see
  // src/git/iso.ts; the MCP SDK, with ajv and its schema converters: `gitstate mcp` only, a
  // long-lived server; json-p3: `query` and MCP's memory_query). Everything else goes in the bundle.
  external: ['isomorphic-git', 'isomorphic-git/*', '@modelcontextprotocol/sdk/*', 'json-p3'],
  // modules that find files beside themselves (createRequire, the hooks folder) do it from the bundle's own path
  define: { 'import.meta.url': '__gitstateModuleUrl' },
  banner: { js: "var __gitstateModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: true,
  // a third less to read on every call; names are kept, and the source map maps lines back
  minifyWhitespace: true,
  logLevel: 'warning',
  plugins: [zodAsClosure],
  metafile: true,
});
// GITSTATE_BUILD_META=file writes esbuild's metafile: which modules went into the bundle
if (process.env.GITSTATE_BUILD_META) writeFileSync(process.env.GITSTATE_BUILD_META, JSON.stringify(result.metafile));
const zodModule = Object.keys(result.metafile.inputs).find((input) => input.includes('node_modules/zod/'));
if (zodModule) throw new Error(`dist/cli/bundle.cjs holds zod's ES modules (${zodModule}): import zod through src/base/zod.ts`);
const esbuilt = readFileSync(join(cli, 'bundle.cjs'), 'latin1').replace(/^#!.*/, '');
// vm.Script (the launcher) cannot run import(): every module must be in the bundle or required.
const dynamicImport = /\bimport\(\s*["'`]/.exec(esbuilt);
if (dynamicImport) throw new Error(`dist/cli/bundle.cjs keeps a dynamic import() of an external module (${dynamicImport[0]}): import it statically`);
// The bundle is stored as the function Node's CommonJS loader would wrap it in, so the launcher
// compiles the file's text as it is: one copy of ~1 MB of source on the heap instead of two.
// Its shebang line gives way to the wrapper's first line, so every other line keeps its number.
const bundled = Buffer.from(`/* run dist/cli/main.js, not this file */ (function (exports, require, module, __filename, __dirname) {${esbuilt}\n})`, 'latin1');
// The launcher reads an ASCII bundle as Latin-1 (cheaper than UTF-8); esbuild escapes strings, but not regular expression literals.
const nonAscii = /[^\x00-\x7f].{0,20}/.exec(bundled.toString('utf8'));
if (nonAscii) throw new Error(`dist/cli/bundle.cjs holds a non-ASCII character ("${nonAscii[0]}"): write it as a \\u escape in the source`);
// The bundle's content hash, on its last line: the launcher uses a code cache only for the bundle it was made from.
writeFileSync(join(cli, 'bundle.cjs'), Buffer.concat([bundled, Buffer.from(`\n//# gitstate-bundle ${createHash('sha256').update(bundled).digest('hex')}\n`)]));
// not executable (esbuild made it so, for the shebang it had): alone it only defines the function the launcher calls
chmodSync(join(cli, 'bundle.cjs'), 0o644);
// The launcher, at the path installed hooks and MCP configurations name.
// CommonJS, so the call skips Node's ESM loader: dist/cli is a CommonJS folder of its own.
writeFileSync(join(cli, 'package.json'), '{ "type": "commonjs" }\n');
await build({ entryPoints: [join(root, 'src/cli/launch.ts')], outfile: join(cli, 'main.js'), format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning' });
chmodSync(join(cli, 'main.js'), 0o755);
warmCodeCache();

/** Make the code caches in a scratch repo: write.cache from a real `set`, read.cache from a `get` (see src/cli/launch.ts). */
function warmCodeCache() {
  const scratch = mkdtempSync(join(tmpdir(), 'gitstate-build-'));
  try {
    const run = (args, env = {}) =>
      execFileSync(process.execPath, [join(cli, 'main.js'), '--dir', join(scratch, 'state'), '--author', 'gitstate build <build@localhost>', ...args], {
        env: { ...process.env, GITSTATE_DIR: '', GITSTATE_CODE_CACHE: 'off', ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    run(['init', '-q']);
    run(['set', 'knowledge', 'build', 'warm-up'], { GITSTATE_WRITE_CODE_CACHE: '1' });
    run(['get', 'knowledge', 'build'], { GITSTATE_WRITE_CODE_CACHE: '1' });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
