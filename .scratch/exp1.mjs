import { parseDocument, isMap, isSeq, isScalar, visit } from 'yaml';
const src = process.argv[2].replace(/\\n/g,'\n');
const doc = parseDocument(src, {keepSourceTokens: true});
visit(doc, { Node(key, node) { const r = node.range; console.log(node.constructor.name, JSON.stringify(node.toJSON?.() ?? node.source), r, JSON.stringify(src.slice(r[0], r[1])), JSON.stringify(src.slice(r[1], r[2])), node.type ?? '', node.flow??''); } });
