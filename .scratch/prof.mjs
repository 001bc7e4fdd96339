import { readFileSync } from 'node:fs';
import { parseStateText } from '../dist/yaml/document.js';
import { setValue, appendValue } from '../dist/yaml/edit.js';
import { parseKeyPath } from '../dist/base/keypath.js';
import { verifyRoundTrip } from '../dist/yaml/verify.js';
const text = readFileSync('test/fixtures/pyyaml/current_work.yaml', 'utf8');
let t = performance.now();
for (let i = 0; i < 300; i++) parseStateText(text, 'c.yaml');
console.log('parse', (performance.now() - t) / 300);
t = performance.now();
for (let i = 0; i < 300; i++) { const s = parseStateText(text, 'c.yaml'); setValue(s, parseKeyPath('open_mrs[0].status'), 'merged'); }
console.log('parse+set', (performance.now() - t) / 300);
t = performance.now();
for (let i = 0; i < 300; i++) { const s = parseStateText(text, 'c.yaml'); appendValue(s, parseKeyPath('follow_ups'), {task: 'x', priority: 'low'}); verifyRoundTrip('c.yaml', Buffer.from(s.text), s.value); }
console.log('parse+append+verify', (performance.now() - t) / 300);
