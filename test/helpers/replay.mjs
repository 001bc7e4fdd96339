// The final state of a repo written by several processes must be the replay of its
// commit log: for every key, the value of the newest commit that wrote it (deleted:
// absent); every append present exactly once. `records` are what the writers printed
// for each acknowledged operation: {op, file, key, value, commit}. Returns the
// problems found (none: an empty list). Used by the load test and the contention bench.
import { execFileSync } from 'node:child_process';

export async function replayProblems(repo, records) {
  const problems = [];
  const order = new Map(execFileSync('git', ['rev-list', '--topo-order', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' }).trim().split('\n').map((c, i) => [c, i]));
  for (const r of records) if (r.commit && !order.has(r.commit)) problems.push(`acknowledged commit ${r.commit} (${r.op} ${r.file ?? ''} ${r.key ?? ''}) is not in history`);
  const last = new Map();
  for (const r of records) {
    if (r.op !== 'set' && r.op !== 'delete') continue;
    const id = `${r.file}#${r.key}`;
    const seen = last.get(id);
    if (!seen || order.get(r.commit) < order.get(seen.commit)) last.set(id, r);
  }
  for (const [id, r] of last) {
    const value = await repo.get(r.file, r.key).catch(() => undefined);
    const expected = r.op === 'delete' ? undefined : r.value;
    if (value !== expected) problems.push(`${id}: ${JSON.stringify(value)} on disk, ${JSON.stringify(expected)} from the newest commit that wrote it`);
  }
  const appended = records.filter((r) => r.op === 'append');
  for (const file of new Set(appended.map((r) => r.file))) {
    const log = (await repo.get(file, 'log').catch(() => [])) ?? [];
    const expected = appended.filter((r) => r.file === file).map((r) => r.value);
    const have = new Set(log);
    for (const value of expected) if (!have.has(value)) problems.push(`${file}: append ${value} is missing`);
    if (log.length !== expected.length) problems.push(`${file}: ${log.length} entries in log, ${expected.length} appends acknowledged`);
  }
  return problems;
}
