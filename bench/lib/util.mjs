// Shared benchmark helpers: timing, percentiles, Markdown tables, temp repos.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PINNED_CONFIG } from '../../dist/core/init.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli/main.js');

const temps = [];
export function tempDir(prefix = 'gitstate-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function cleanup() {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Run `fn` `warmup` times unmeasured, then `count` times; returns sorted durations in ms. */
export async function measure(fn, { count, warmup = 10 }) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(warmup + i);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

export function ms(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function git(dir, ...args) {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
}

/**
 * A state repo built with native `git fast-import`: `files` small YAML files
 * (projects/pNN/fNN.yaml, plus knowledge.yaml and current_work.yaml), then
 * `commits` commits each changing one file (knowledge.yaml every `keyEvery`-th).
 */
export function generateRepo(dir, { files, commits, keyEvery = 50 }) {
  git(dir, 'init', '-q', '-b', 'main');
  // The config `gitstate init` pins, so the repo is one gitstate could have made.
  for (const [k, v] of Object.entries(PINNED_CONFIG)) git(dir, 'config', k, v);
  const names = Array.from({ length: files }, (_, i) => `projects/p${String(Math.floor(i / 20)).padStart(3, '0')}/f${String(i % 20).padStart(2, '0')}.yaml`);
  names.push('knowledge.yaml', 'current_work.yaml');
  const parts = [];
  const data = (text) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  parts.push(`commit refs/heads/main\ncommitter bench <bench@example.com> 1700000000 +0000\n${data('init')}`);
  for (const name of names) parts.push(`M 100644 inline ${name}\n${data(`name: ${name}\nvalue: 0\n`)}`);
  for (let c = 0; c < commits; c++) {
    const name = c % keyEvery === 0 ? 'knowledge.yaml' : names[c % files];
    parts.push(`commit refs/heads/main\ncommitter bench <bench@example.com> ${1700000001 + c} +0000\n${data(`change ${c}`)}M 100644 inline ${name}\n${data(`name: ${name}\nvalue: ${c + 1}\n`)}`);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: parts.join('') });
  git(dir, 'reset', '-q', '--hard');
  return dir;
}

/**
 * Flush every dirty page to disk (the `sync` command), so a measurement does not
 * share the disk with the write-back of what the benchmark itself just made
 * (a generated repository, a copy of one): otherwise whichever contender runs
 * first after setting up pays for it.
 */
export function settleDisk() {
  execFileSync('sync');
}

export function copyRepo(from, to) {
  execFileSync('cp', ['-a', from, to]);
  return to;
}
