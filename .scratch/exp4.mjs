import { parseDocument } from 'yaml';
const t = 'a: !!str 1\nb: &x\n  c: 1\nd: &y val\ne: !!map\n  f: 1\n';
const d = parseDocument(t, { keepSourceTokens: true });
for (const p of d.contents.items) console.log(p.key.value, p.value.range, JSON.stringify(t.slice(p.value.range[0], p.value.range[1])), p.value.anchor, p.value.tag);
