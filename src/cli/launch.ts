#!/usr/bin/env node
/**
 * The `gitstate` executable (built to dist/cli/main.js, the path installed hooks
 * and MCP configurations name). It runs the bundled CLI, dist/cli/bundle.cjs,
 * with V8's code cache for it: compiling the bundle is most of a CLI call's
 * cost above Node's own start-up, and a cached call skips it. This is
 * vm.Script's documented `cachedData`; on Node 22 `module.enableCompileCache()`
 * does the same job.
 *
 * The build makes two caches, each after a real call: read.cache after a `get`,
 * write.cache after a `set`. A cache holds the code its call compiled, and V8
 * reads all of it back, so a read would pay ~2 ms for a write's code. Either
 * cache is valid for the bundle: a command put with the wrong kind only runs
 * slower, never differently.
 *
 * The cache is used only when its header names this very bundle (its size and
 * the content hash the build appended to it: V8 checks only the length of the
 * source); V8 itself rejects one made by another Node or V8 version.
 * Either way the call just compiles as usual. GITSTATE_CODE_CACHE=off skips
 * it; =report says on stderr which cache it was and whether it was used.
 */
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { Script } from 'node:vm';

// Built as CommonJS (dist/cli/package.json says so): an ES module entry point costs Node its ESM loader, ~3 ms a call.
const here = __dirname;
const bundle = join(here, 'bundle.cjs');
const mode = process.env.GITSTATE_CODE_CACHE ?? '';

/** Commands that only read: they run with read.cache. */
const READS = new Set(['get', 'ls', 'show', 'log', 'diff', 'blame', 'query', 'status', 'stats', 'validate', 'doctor', 'context', 'conflicts', 'help']);

/** The command word: the first argument that is neither a global option nor the value of one (no command: help or version, a read). */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--dir' || arg === '--author') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

const word = commandWord(process.argv.slice(2));
const cacheFile = join(here, word === undefined || READS.has(word) ? 'read.cache' : 'write.cache');

const bytes = readFileSync(bundle);
// The build keeps the bundle ASCII: read as Latin-1 it is the same text, and V8's one-byte string costs half of decoding UTF-8.
const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
// The build ends the bundle with its content hash; the cache header must name the same bundle.
const id = /\n\/\/# gitstate-bundle ([0-9a-f]{64})\n$/.exec(source)?.[1];
const stamp = `gitstate-code-cache ${bytes.length} ${id}\n`;

function readCache(): Buffer | undefined {
  if (mode === 'off' || id === undefined) return undefined;
  try {
    const data = readFileSync(cacheFile);
    return data.subarray(0, stamp.length).toString('latin1') === stamp ? data.subarray(stamp.length) : undefined;
  } catch {
    return undefined;
  }
}

const cachedData = readCache();
// The build stored the bundle inside Node's own CommonJS wrapper: the text is compiled as it is.
const script = new Script(source, { filename: bundle, cachedData });
if (mode === 'report') process.stderr.write(`gitstate: code cache ${basename(cacheFile)} ${cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);

if (process.env.GITSTATE_WRITE_CODE_CACHE === '1') {
  // The build's warm-up call: cache what this call compiled, once it is done.
  process.once('exit', () => {
    const temp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.concat([Buffer.from(stamp, 'latin1'), script.createCachedData()]));
    renameSync(temp, cacheFile);
  });
}

const module = { exports: {} };
const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
run.call(module.exports, module.exports, createRequire(bundle), module, bundle, here);
