/**
 * Every file of the fixture corpus (test/fixtures: PyYAML's own output for each
 * seed file shape, hand-written files, JSON in several layouts) through every
 * operation at every node: set (to values PyYAML would retype if written bare,
 * and to structures), append, delete, merge, new keys. Each edit is checked by
 * test/helpers/edit-check.ts, with real PyYAML as the second reader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKeyPath, type Segment } from '../../src/base/keypath.js';
import { parseStateText } from '../../src/yaml/document.js';
import { ROOT } from '../helpers/repo.js';
import { PyYaml } from '../helpers/pyyaml.js';
import { checkedEdit, type Op } from '../helpers/edit-check.js';
import { sized } from '../helpers/tier.js';

/** `npm test` runs every STRIDE-th operation of each file (a different share per file); the full tier runs all. */
const STRIDE = sized(3, 1, 'CORPUS_STRIDE');

const FIXTURES = join(ROOT, 'test/fixtures');
export const CORPUS = ['pyyaml', 'hand', 'json'].flatMap((dir) => readdirSync(join(FIXTURES, dir)).map((f) => `${dir}/${f}`)).sort();

/** New values: strings a YAML 1.1 reader retypes when bare, and other awkward ones. */
const TRICKY: unknown[] = [
  '20:38:05', 'yes', 'on', 'No', 'y', '2026-12-02', '2026-01-21 15:54:19', '0777', '0o17', '1_000', '.inf', '~', 'null', '',
  '=', '<<', '3.0', '1e3', 'plain words', "it's", 'a: b', '#hash', '- dash', '{not: flow}', 'line one\nline two', 'tail\n',
  'é ü 😀', ' padded ', 'a\u2028b', 42, -7, 3.5, 1e21, true, null, { nested: { deep: 'yes' } }, ['x', 'on'], [], {},
];

function leaves(value: unknown, at: Segment[] = []): Array<{ at: Segment[]; value: unknown }> {
  const out = [{ at, value }];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...leaves(v, [...at, { kind: 'index', index: i }])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...leaves(v, [...at, { kind: 'key', name: k }]));
  return out;
}

/** The operations for one file: each node gets a set, a delete, and (lists, maps) an append, a merge and a new key. */
export function opsFor(text: string, path: string): Op[] {
  const value = parseStateText(text, path).value;
  const ops: Op[] = [];
  let n = 0;
  const tricky = () => TRICKY[n++ % TRICKY.length];
  for (const { at, value: v } of leaves(value)) {
    const key = formatKeyPath(at);
    if (at.length > 0) {
      ops.push({ op: 'set', key, value: tricky() });
      ops.push({ op: 'delete', key });
    }
    if (Array.isArray(v)) {
      const first = v[0];
      const item = first && typeof first === 'object' && !Array.isArray(first) ? { ...(first as object), key: `NEW-${n}`, name: `new-${n}`, id: 90000 + n, note: tricky() } : tricky();
      if (at.length > 0) ops.push({ op: 'append', key, value: item });
    } else if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      ops.push({ op: 'set', key: formatKeyPath([...at, { kind: 'key', name: `new_${n}` }]), value: tricky() });
      ops.push({ op: 'merge', key: key || undefined!, value: { ...(keys[0] !== undefined ? { [keys[0]]: tricky() } : {}), [`merged_${n}`]: { when: '14:22:10', list: ['yes'] } } });
      if (at.length > 0) ops.push({ op: 'set', key, value: 'replaced' });
    }
  }
  return ops.filter((op) => op.op !== 'merge' || op.key !== undefined);
}

describe('fixture corpus', () => {
  const py = new PyYaml();
  afterAll(() => py.close());

  it('holds every seed file shape and layout', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(25);
  });

  for (const file of CORPUS) {
    it(`${file}: every operation at every node keeps the file right`, async () => {
      const text = readFileSync(join(FIXTURES, file), 'utf8');
      const path = file.endsWith('.json') ? 'state.json' : `${file.split('/')[1]}`;
      const problems: string[] = [];
      let applied = 0;
      const offset = CORPUS.indexOf(file) % STRIDE;
      const ops = opsFor(text, path).filter((_, i) => i % STRIDE === offset);
      // All at once: the PyYAML process is kept busy instead of waiting on each round trip.
      const results = await Promise.all(ops.map((op) => checkedEdit(path, text, op, py)));
      for (const [i, result] of results.entries()) {
        const op = ops[i]!;
        if (!result.rejected) applied++;
        if (result.rerendered > 0) problems.push(`${op.op} ${op.key}: fell back to rendering the document`);
        for (const p of result.problems) problems.push(`${op.op} ${op.key} ${JSON.stringify(op.value)}: ${p}\n${result.text}`);
      }
      expect(problems).toEqual([]);
      expect(applied).toBeGreaterThan(0);
    });
  }
});
