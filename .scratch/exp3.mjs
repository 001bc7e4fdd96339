import { Document, parseDocument, stringify, Scalar } from 'yaml';
const v = { key: [{ a: 1, b: [1, 2], c: { d: 'x' } }, 'multi\nline\n'] };
for (const indent of [2, 4]) for (const indentSeq of [true, false]) {
  console.log(`--- indent ${indent} indentSeq ${indentSeq}`);
  console.log(new Document(v).toString({ indent, indentSeq, lineWidth: 0 }));
}
const d = new Document(['\u2028x', '\x85y', '\x80z', 'a\u00a0', '\ufeffq', 'tab\tin', '\ttab', 'é ü', '\x7f', '\u{1F600}', 'x\ry']);
console.log(d.toString());
const d2 = new Document(['\u2028x', '\x85y', '\x80z', '\ufeffq', '\x7f', 'x\ry', '\x1b']);
d2.contents.items.forEach(s => s.type = 'QUOTE_DOUBLE');
console.log(d2.toString());
const d3 = new Document(['it\'s', 'a\nb']);
d3.contents.items.forEach(s => s.type = 'QUOTE_SINGLE');
console.log(d3.toString());
console.log(new Document([1e21, 1e-7, -0, NaN, Infinity, 0.1, 12345678901234567890]).toString());
