import { parseStateText } from '../dist/yaml/document.js';
import { setValue, appendValue, deleteValue, mergeValue } from '../dist/yaml/edit.js';
import { parseKeyPath } from '../dist/base/keypath.js';
import { verifyRoundTrip } from '../dist/yaml/verify.js';
const cases = [
  ['current_work.yaml', 'follow_ups:\n- task: a\n  priority: low\nnotes: x\n', s => appendValue(s, parseKeyPath('follow_ups'), { task: 'b' })],
  ['t.yaml', 'tags:\n- one\n- two\nx: 1\n', s => appendValue(s, parseKeyPath('tags'), 'three')],
  ['t.yaml', 'open_mrs:\n- id: 1\n  status: open\n  title: x\n- id: 2\n  status: open\n', s => setValue(s, parseKeyPath('open_mrs[0].status'), 'merged')],
  ['t.yaml', 'a: 1\n', s => setValue(s, parseKeyPath('time'), '20:38:05')],
  ['t.yaml', "a: 1\nq: 'x'\n", s => setValue(s, parseKeyPath('b'), ['yes', 'on', '2026-12-02', 1e21, 'a\u2028b'])],
  ['t.yaml', 'a:\n  b: 1\n  c: 2\nd: 3\n', s => deleteValue(s, parseKeyPath('a.b'))],
  ['t.yaml', 'a:\n  b: 1\nd: 3\n', s => deleteValue(s, parseKeyPath('a.b'))],
  ['t.yaml', 'l:\n- k: 1\n  j: 2\n- x\n', s => deleteValue(s, parseKeyPath('l[0].k'))],
  ['t.yaml', 'a: x # c\nb: 2\n', s => setValue(s, parseKeyPath('a'), { m: [1, 2] })],
  ['t.yaml', 'a:\n  m: 1\nb: 2\n', s => setValue(s, parseKeyPath('a'), 'plain')],
  ['t.yaml', 'a: {x: 1, y: 2}\nb: [1, 2]\n', s => { setValue(s, parseKeyPath('a.z'), 'a, b'); appendValue(s, parseKeyPath('b'), { q: 1 }); }],
  ['t.yaml', 'env: {}\nlist: []\n', s => { setValue(s, parseKeyPath('env.a'), 1); appendValue(s, parseKeyPath('list'), 'x'); }],
  ['t.yaml', 'dev:\n    namespace: a\n    apps:\n    - x\nprod: 1\n', s => mergeValue(s, parseKeyPath('dev'), { namespace: 'b', new: { k: [1] }, apps2: ['y'] })],
  ['state.json', '{\n    "a": 1,\n    "b": {\n        "c": [1, 2]\n    }\n}\n', s => { setValue(s, parseKeyPath('b.d'), { e: [1] }); appendValue(s, parseKeyPath('b.c'), 3); setValue(s, parseKeyPath('a'), 'x'); }],
  ['state.json', '{"a": 1, "b": {}}', s => { setValue(s, parseKeyPath('b.d'), { e: [1] }); deleteValue(s, parseKeyPath('a')); }],
  ['t.yaml', '\ufeffa: 1\r\nb:\r\n- x\r\n', s => { setValue(s, parseKeyPath('c'), { d: 1 }); appendValue(s, parseKeyPath('b'), 'y'); }],
  ['t.yaml', 's: |\n  line1\n  line2\nt: 1\n', s => setValue(s, parseKeyPath('s'), 'new1\nnew2\n')],
  ['t.yaml', '# knowledge\n', s => setValue(s, parseKeyPath('ci.runner.os'), 'linux')],
  ['t.yaml', '', s => setValue(s, parseKeyPath('a'), 1)],
];
for (const [path, text, fn] of cases) {
  const s = parseStateText(text, path);
  try {
    fn(s);
    verifyRoundTrip(path, Buffer.from(s.text), s.value);
    console.log(`--- ${JSON.stringify(text)}${s.rerendered ? ' (RERENDERED)' : ''}\n${s.text}`);
  } catch (err) { console.log(`--- ${JSON.stringify(text)} ERROR ${err.message}\n${s.text}`); }
}
