import { parseDocument, isMap, isSeq, isScalar, visit } from 'yaml';
const src = process.argv[2].replace(/\\n/g,'\n');
const doc = parseDocument(src, {keepSourceTokens: true});
const show = (t, d=0) => { const pad=' '.repeat(d); if (!t) return; 
  if (t.items) { console.log(pad+t.type, 'indent', t.indent, 'offset', t.offset); for (const it of t.items) { console.log(pad+' item start', JSON.stringify(it.start?.map(s=>[s.type,s.offset,s.source]))); if (it.key) {console.log(pad+' key'); show(it.key,d+2);} if (it.sep) console.log(pad+' sep', JSON.stringify(it.sep.map(s=>[s.type,s.offset,s.source]))); if (it.value) {console.log(pad+' value'); show(it.value, d+2);} } if (t.end) console.log(pad+' end', JSON.stringify(t.end.map(s=>[s.type,s.offset,s.source]))); }
  else console.log(pad+t.type, t.offset, JSON.stringify(t.source), 'indent', t.indent, t.end ? JSON.stringify(t.end.map(s=>[s.type,s.source])) : '', t.props? JSON.stringify(t.props.map(s=>[s.type,s.source])):'');
};
show(doc.contents.srcToken);
visit(doc, { Pair(k, p) { console.log('pair', p.key?.toString(), 'value range', p.value?.range, p.value?.constructor.name, JSON.stringify(p.value?.value)); }, Seq(k,s){ s.items.forEach((it,i)=>console.log('seqitem',i, it?.range, it?.constructor?.name)); } });
