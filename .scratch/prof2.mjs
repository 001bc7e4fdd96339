import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter } from 'yaml';
const text = readFileSync('test/fixtures/pyyaml/current_work.yaml', 'utf8');
const bench = (name, fn) => { for (let i = 0; i < 200; i++) fn(); const t = performance.now(); for (let i = 0; i < 1000; i++) fn(); console.log(name, ((performance.now() - t) / 1000).toFixed(3)); };
bench('plain', () => parseDocument(text).toJS());
bench('opts', () => parseDocument(text, { prettyErrors: true, uniqueKeys: false, version: '1.2', lineCounter: new LineCounter() }).toJS());
bench('opts+tokens', () => parseDocument(text, { prettyErrors: true, uniqueKeys: false, version: '1.2', lineCounter: new LineCounter(), keepSourceTokens: true }).toJS({maxAliasCount: 100}));
