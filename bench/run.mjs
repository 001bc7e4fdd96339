// `npm run bench [module...]`: runs the benchmark modules (all by default) and prints their tables.
// BENCH_QUICK=1 runs small counts (a smoke test, not figures to report).
import os from 'node:os';
import { cleanup } from './lib/util.mjs';

const MODULES = ['write', 'cli', 'contention', 'state', 'log', 'sync', 'gc', 'fidelity'];
const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? wanted : MODULES;
for (const name of selected) {
  if (!MODULES.includes(name)) {
    console.error(`unknown benchmark "${name}"; choose from ${MODULES.join(', ')}`);
    process.exit(2);
  }
}
console.log(`## gitstate benchmarks — node ${process.version}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}${process.env.BENCH_QUICK === '1' ? ' (QUICK)' : ''}\n`);
try {
  for (const name of selected) {
    const module = await import(`./${name}.bench.mjs`);
    const started = performance.now();
    console.log(await module.run());
    console.log(`\n_${name}: ${((performance.now() - started) / 1000).toFixed(1)} s_\n`);
  }
} finally {
  cleanup();
}
// The sync module can leave a handle open after its servers stop (seen once: the run printed
// everything and then waited); the results are out, so the run ends here.
process.exit(0);
