#!/usr/bin/env node
// Build: the library with tsc (dist/, with types), then the CLI bundled by
// esbuild into dist/cli/main.js (the path installed hooks and MCP
// configurations name), with the modules only writes need split into chunks
// loaded on first use. Skipped when dist/ is newer than every input, so
// `npm ci` (prepare) followed by `npm test` (pretest) builds once.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
rmSync(join(root, 'dist/cli/chunks'), { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(root, 'src/cli/main.ts') },
  outdir: join(root, 'dist/cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // isomorphic-git is required at run time (see src/git/iso.ts); everything else goes in the bundle
  external: ['isomorphic-git', 'isomorphic-git/*'],
  // CommonJS dependencies in an ES module bundle need a require of their own
  banner: { js: "import { createRequire as __gitstateRequire } from 'node:module'; const require = __gitstateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
  // GITSTATE_BUILD_META=file writes esbuild's metafile: which modules went into which chunk
  metafile: Boolean(process.env.GITSTATE_BUILD_META),
});
if (process.env.GITSTATE_BUILD_META) writeFileSync(process.env.GITSTATE_BUILD_META, JSON.stringify(result.metafile));
writeFileSync(stamp, `${new Date().toISOString()}\n`);
