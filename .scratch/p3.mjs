import { parseDocument } from 'yaml';
import { pyyamlFile } from '../bench/fidelity.bench.mjs';
import { parseStateText } from '../dist/yaml/document.js';
for (const kb of [4, 64]) {
  const text = pyyamlFile(kb);
  const b = (name, fn) => { for (let i = 0; i < 3; i++) fn(); const t = performance.now(); const n = 20; for (let i = 0; i < n; i++) fn(); console.log(kb, name, ((performance.now() - t) / n).toFixed(2)); };
  b('parseDocument', () => parseDocument(text));
  b('parseDocument+toJS', () => parseDocument(text).toJS());
  b('tokens+toJS', () => parseDocument(text, { keepSourceTokens: true, uniqueKeys: false }).toJS());
  b('parseStateText', () => parseStateText(text, 'c.yaml'));
}
