/**
 * One edit, checked from outside the editor: the new text parses and holds the
 * data the same operation gives on plain values (a model written here, apart
 * from src/yaml/intent.ts); lines outside the edited node are unchanged; and
 * real PyYAML reads the edited node as gitstate meant and every other node as
 * it read it before.
 */
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair, YAMLSeq } from 'yaml';
import { GitstateError } from '../../src/errors.js';
import { parseKeyPath, type Segment } from '../../src/base/keypath.js';
import { parseStateText } from '../../src/yaml/document.js';
import { appendValue, deleteValue, mergeValue, setValue } from '../../src/yaml/edit.js';
import { verifyRoundTrip } from '../../src/yaml/verify.js';
import { seqDash } from '../../src/yaml/text.js';
import { sameData, type PyYaml } from './pyyaml.js';

export interface Op {
  op: 'set' | 'append' | 'delete' | 'merge';
  key: string;
  value?: unknown;
}

export interface StepOutcome {
  text: string;
  /** The operation was refused with exit 3 (the text is then unchanged). */
  rejected?: string;
  /** What went wrong; empty when the edit is right. */
  problems: string[];
  /** Edits that fell back to rendering the document. */
  rerendered: number;
  /** Whether PyYAML was compared (false: the path runs through a key PyYAML reads differently). */
  pyChecked: boolean;
}

type Step = string | number;
type Plain = Record<string, unknown>;
const isObject = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A map of the data: not one of PyYAML's typed scalars (a date, binary: `{$type}`, pyyaml.ts), which a merge or a deeper key replaces. */
const isMapData = (v: unknown): v is Plain => isObject(v) && !(Object.hasOwn(v, '$type') && Object.keys(v).length === 1);

export async function checkedEdit(path: string, before: string, op: Op, py?: PyYaml): Promise<StepOutcome> {
  const state = parseStateText(before, path);
  const beforeValue = structuredClone(state.value);
  const segments = op.key ? parseKeyPath(op.key) : [];
  const out: StepOutcome = { text: before, problems: [], rerendered: 0, pyChecked: false };
  try {
    if (op.op === 'set') setValue(state, segments, op.value);
    else if (op.op === 'append') appendValue(state, segments, op.value);
    else if (op.op === 'delete') deleteValue(state, segments);
    else mergeValue(state, segments, op.value);
  } catch (err) {
    if (err instanceof GitstateError && err.exitCode === 3) {
      out.rejected = err.message;
      if (state.text !== before) out.problems.push('a refused edit changed the text');
      return out;
    }
    throw err;
  }
  const after = state.text;
  out.text = after;
  out.rerendered = state.rerendered;

  // 1. The model: the same operation on plain data.
  const resolved = resolvePlain(beforeValue, segments, op.op !== 'delete');
  const expected = applyModel(structuredClone(beforeValue), resolved, op);
  try {
    verifyRoundTrip(path, Buffer.from(after), expected);
  } catch (err) {
    out.problems.push(`does not read back as the model: ${(err as Error).message}`);
  }

  // 2. Lines outside the edited node stay as they were.
  const span = allowedSpan(before, resolved, op);
  const window = changedWindow(before.split('\n'), after.split('\n'));
  if (window && (window.from < span.lo || window.to > span.hi || window.at < span.lo || window.at > span.hi + 1)) {
    out.problems.push(`lines changed outside the edited node: before-lines ${window.from}..${window.to} (insert at ${window.at}) vs allowed ${span.lo}..${span.hi}`);
  }

  // 3. PyYAML: the edited node as meant, the rest as PyYAML read it before.
  if (py && !path.endsWith('.json')) {
    // A document PyYAML cannot read to begin with (written by another tool) has no PyYAML reading to keep.
    const pyBefore = await py.load(before).catch(() => undefined);
    const steps = [...resolved.steps, ...resolved.missing];
    const comparable = pyBefore !== undefined && pathExists(pyBefore, resolved.steps) && !steps.includes('<<') && (op.op !== 'merge' || sameKeys(getAt(pyBefore, resolved.steps), getAt(beforeValue, resolved.steps), op.value));
    if (comparable) {
      out.pyChecked = true;
      let pyAfter: unknown;
      try {
        pyAfter = await py.load(after);
      } catch (err) {
        out.problems.push(`PyYAML cannot read the result: ${(err as Error).message}`);
      }
      const pyExpected = applyModel(structuredClone(pyBefore), resolved, op);
      if (pyAfter !== undefined && !sameData(pyAfter, pyExpected)) {
        out.problems.push(`PyYAML reads ${JSON.stringify(pyAfter)}, expected ${JSON.stringify(pyExpected)}`);
      }
    }
  }
  return out;
}

// ---- the model -------------------------------------------------------------------

interface PlainResolved {
  steps: Step[];
  missing: string[];
}

function resolvePlain(root: unknown, segments: readonly Segment[], create: boolean): PlainResolved {
  const steps: Step[] = [];
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (create && (node === null || node === undefined)) return { steps, missing: segments.slice(i).map((x) => (x as { name: string }).name) };
    if (Array.isArray(node)) {
      let index: number;
      if (s.kind === 'select') index = node.findIndex((item) => isObject(item) && item[s.field] !== null && typeof item[s.field] !== 'object' && String(item[s.field]) === s.value);
      else index = s.kind === 'index' ? s.index : Number(s.name);
      if (index < 0) index += node.length;
      steps.push(index);
      node = node[index];
    } else {
      const name = (s as { name: string }).name;
      if (create && (!isObject(node) || !Object.hasOwn(node, name))) return { steps, missing: segments.slice(i).map((x) => (x as { name: string }).name) };
      steps.push(name);
      node = (node as Plain)[name];
    }
  }
  return { steps, missing: [] };
}

function getAt(root: unknown, steps: readonly Step[]): unknown {
  return steps.reduce<unknown>((node, step) => (Array.isArray(node) ? node[step as number] : isObject(node) ? node[step as string] : undefined), root);
}

/** Whether each key a merge touches is one PyYAML reads as the same string (a bare `on:` key it reads as True). */
function sameKeys(py: unknown, gs: unknown, value: unknown): boolean {
  if (!isObject(value) || !isObject(gs)) return true;
  return Object.entries(value).every(([k, v]) => {
    if (!Object.hasOwn(gs, k)) return true;
    if (!isObject(py) || !Object.hasOwn(py, k)) return false;
    return sameKeys(py[k], gs[k], v);
  });
}

function pathExists(root: unknown, steps: readonly Step[]): boolean {
  let node = root;
  for (const step of steps) {
    if (Array.isArray(node) && typeof step === 'number' && step < node.length) node = node[step];
    else if (isObject(node) && Object.hasOwn(node, String(step))) node = node[String(step)];
    else return false;
  }
  return true;
}

function applyModel(root: unknown, r: PlainResolved, op: Op): unknown {
  const all = [...r.steps, ...r.missing];
  const place = (value: unknown): unknown => {
    if (all.length === 0) return value;
    let top = isObject(root) || Array.isArray(root) ? root : {};
    let node: unknown = top;
    for (let i = 0; i < all.length - 1; i++) {
      const next = getAt(node, [all[i]!]);
      if (!isMapData(next) && !Array.isArray(next)) (node as Plain)[all[i] as string] = {};
      node = getAt(node, [all[i]!]);
    }
    (node as Plain)[all[all.length - 1] as string] = value;
    return top;
  };
  const current = r.missing.length ? undefined : getAt(root, r.steps);
  switch (op.op) {
    case 'set':
      return place(structuredClone(op.value));
    case 'append':
      if (Array.isArray(current)) {
        current.push(structuredClone(op.value));
        return root;
      }
      return place([structuredClone(op.value)]);
    case 'delete': {
      const parent = getAt(root, r.steps.slice(0, -1));
      const last = r.steps[r.steps.length - 1]!;
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Plain)[last as string];
      return root;
    }
    case 'merge': {
      if (!isMapData(current)) return place(structuredClone(op.value));
      const merge = (target: Plain, value: Plain) => {
        for (const [k, v] of Object.entries(value)) {
          if (isMapData(target[k]) && isObject(v)) merge(target[k] as Plain, v);
          else target[k] = structuredClone(v);
        }
      };
      merge(current, op.value as Plain);
      return root;
    }
  }
}

// ---- where the text may change -----------------------------------------------------

/** Lines (0-based, of the text before) an edit may touch: the edited entry, from its key or dash line to its last line. */
function allowedSpan(text: string, r: PlainResolved, op: Op): { lo: number; hi: number } {
  const doc = parseDocument(text, { keepSourceTokens: true });
  const all = { lo: 0, hi: text.split('\n').length };
  // The node whose lines the edit may change: the value itself for set and merge, the list for
  // append, and the containing map or list for delete and for new keys.
  let steps = r.steps;
  if (op.op === 'delete' || (r.missing.length > 0 && op.op !== 'append')) steps = op.op === 'delete' ? r.steps.slice(0, -1) : r.steps;
  if (steps.length === 0) return all;
  const span = entrySpan(doc, text, steps);
  return span ?? all;
}

function entrySpan(doc: Document, text: string, steps: readonly Step[]): { lo: number; hi: number } | null {
  let node: unknown = doc.contents;
  let start = 0;
  for (const step of steps) {
    if (isSeq(node)) {
      const dash = seqDash(node as YAMLSeq, step as number);
      const item = (node as YAMLSeq).items[step as number] as Node | undefined;
      start = dash ?? item?.range?.[0] ?? start;
      node = item;
    } else if (isMap(node)) {
      const pair = node.items.find((p: Pair) => String(isScalar(p.key) ? p.key.value : p.key) === String(step) || (isScalar(p.key) && p.key.value === null && step === ''));
      if (!pair) return null;
      start = (pair.key as Node | null)?.range?.[0] ?? start;
      node = pair.value;
    } else return null;
  }
  const range = (node as Node | null)?.range;
  const end = range ? Math.max(range[1] - 1, start) : start;
  return { lo: lineOf(text, start), hi: lineOf(text, end) };
}

function lineOf(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The lines of `a` that differ from `b`, by common prefix and suffix: from..to removed, insertion at `at`. */
function changedWindow(a: string[], b: string[]): { from: number; to: number; at: number } | null {
  if (isDeepStrictEqual(a, b)) return null;
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const to = a.length - 1 - suffix;
  return { from: prefix, to: Math.max(to, prefix - 1), at: prefix };
}
