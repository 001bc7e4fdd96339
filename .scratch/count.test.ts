import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { CORPUS, opsFor } from '../test/yaml/corpus.test.js';
import { checkedEdit } from '../test/helpers/edit-check.js';
it('count', async () => {
  let total = 0; const t = performance.now();
  for (const f of CORPUS) { const text = readFileSync(join('test/fixtures', f), 'utf8'); const path = f.endsWith('.json') ? 'state.json' : f.split('/')[1]!; const ops = opsFor(text, path); total += ops.length; for (const op of ops) await checkedEdit(path, text, op); }
  console.log('ops', total, 'js-only ms', performance.now() - t);
});
