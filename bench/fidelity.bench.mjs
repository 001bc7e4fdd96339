// What the fidelity net costs per write, by file size: re-parsing the bytes about to be
// written and comparing them with the data meant (verifyRoundTrip), beside the first parse
// of the file and the whole in-memory edit (parse, splice, re-parse), on PyYAML-layout files.
import { parseKeyPath } from '../dist/base/keypath.js';
import { parseStateText } from '../dist/yaml/document.js';
import { setValue } from '../dist/yaml/edit.js';
import { verifyRoundTrip } from '../dist/yaml/verify.js';
import { measure, ms, percentile, table } from './lib/util.mjs';

export const name = 'fidelity';
const QUICK = process.env.BENCH_QUICK === '1';
const SIZES = QUICK ? [1, 16, 256] : [1, 4, 16, 64, 256, 1024];

/** A current_work.yaml in PyYAML's layout with enough issues to be about `kb` KB. */
export function pyyamlFile(kb) {
  const issue = (i) =>
    `- branch: aap-${i}-fix\n  key: AAP-${i}\n  notes: 'Reproduced on staging.'\n  started: '2026-01-06T11:00:00'\n  status: In Progress\n  summary: Fix the login redirect number ${i}\n`;
  let text = 'active_issue: AAP-0\nactive_issues:\n';
  for (let i = 0; Buffer.byteLength(text) < kb * 1024 - 200; i++) text += issue(i);
  return `${text}last_updated: '2026-01-21T15:54:19'\n`;
}

export async function run() {
  const rows = [];
  for (const kb of SIZES) {
    const text = pyyamlFile(kb);
    const bytes = Buffer.byteLength(text);
    const count = QUICK ? 20 : Math.max(20, Math.round(4000 / kb));
    const state = parseStateText(text, 'current_work.yaml');
    setValue(state, parseKeyPath('active_issues[key=AAP-0].status'), 'Done');
    const out = Buffer.from(state.text);
    const parse = await measure(() => parseStateText(text, 'current_work.yaml'), { count, warmup: 5 });
    const cpu = process.cpuUsage();
    const verify = await measure(() => verifyRoundTrip('current_work.yaml', out, state.value), { count, warmup: 5 });
    // CPU time as well as wall time: on a shared machine the wall time also holds other processes' turns.
    const used = process.cpuUsage(cpu);
    const verifyCpu = (used.user + used.system) / 1000 / (count + 5);
    const edit = await measure(() => {
      const s = parseStateText(text, 'current_work.yaml');
      setValue(s, parseKeyPath('active_issues[key=AAP-0].status'), 'Done');
      verifyRoundTrip('current_work.yaml', Buffer.from(s.text), s.value);
    }, { count, warmup: 5 });
    const p50 = (t) => percentile(t, 0.5);
    rows.push([
      bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`,
      ms(p50(parse)),
      ms(p50(verify)),
      ms(percentile(verify, 0.95)),
      ms(verifyCpu),
      ms(p50(edit)),
      `${Math.round((100 * p50(verify)) / p50(edit))}%`,
    ]);
  }
  return [
    '### The re-parse net (in-memory, no git)',
    '',
    table(['file size', 'first parse, median ms', 're-parse + compare, median ms', 'p95 ms', 'CPU ms per re-parse', 'whole edit (parse, set, re-parse), median ms', 'share of the edit'], rows),
  ].join('\n');
}
