import { parseStateText } from '../dist/yaml/document.js';
import { setValue, deleteValue } from '../dist/yaml/edit.js';
import { parseKeyPath } from '../dist/base/keypath.js';
import { verifyRoundTrip } from '../dist/yaml/verify.js';
const run = (path, text, fn) => { const s = parseStateText(text, path); try { fn(s); verifyRoundTrip(path, Buffer.from(s.text), s.value); console.log(JSON.stringify(text), '->', JSON.stringify(s.text), s.rerendered ? 'RERENDERED' : ''); } catch (e) { console.log(JSON.stringify(text), 'ERR', e.constructor.name, e.message); } };
const t = 'a: !!str 1\nb: &x\n  c: 1\nd: &y val # c\ne: !!map\n  f: 1\nl:\n- &i 1\n- !!str 2\n- &m\n  k: v\nfl: [!!str 1, &q 2]\n';
for (const k of ['a', 'b', 'd', 'e', 'l[0]', 'l[1]', 'l[2]', 'fl[0]']) { run('a.yaml', t, s => setValue(s, parseKeyPath(k), 5)); run('a.yaml', t, s => setValue(s, parseKeyPath(k), { z: [1] })); }
