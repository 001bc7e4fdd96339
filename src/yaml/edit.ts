/**
 * Operations at a key path on a yaml Document: get, set, append, delete, merge.
 * Only the edited node changes; everything else (comments, order, blank lines,
 * quoting) is left to the Document as it was parsed.
 */
import { Document, isAlias, isMap, isScalar, isSeq, Scalar, YAMLMap } from 'yaml';
import type { Node } from 'yaml';
import { KeyPathError, NotFoundError, OperationError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { kindOf, toPlain, type StateDoc } from './document.js';

type PathKey = string | number | boolean | null;

interface Resolved {
  /** Concrete keys and indices for `doc.getIn` / `setIn` / `deleteIn`. */
  path: PathKey[];
  /** The node at the path, `undefined` when (part of) the path does not exist. */
  node: unknown;
}

/**
 * Walk `segments` through the document. Selectors and numeric names are turned
 * into concrete indices. With `create`, missing trailing map keys are allowed
 * (the caller creates them); otherwise a missing value is a NotFoundError.
 */
function resolve(state: StateDoc, segments: readonly Segment[], create: boolean): Resolved {
  const { doc } = state;
  const path: PathKey[] = [];
  let node: unknown = doc.contents ?? undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const here = () => formatKeyPath(segments.slice(0, i)) || '(top level)';
    const upTo = () => formatKeyPath(segments.slice(0, i + 1));
    if (isAlias(node)) {
      if (create) throw new KeyPathError(`${here()} in ${state.path} is an alias (*${node.source}); edit its anchor instead`);
      node = node.resolve(doc);
    }
    if (node === undefined || (isScalar(node) && node.value === null && create)) {
      if (!create) throw new NotFoundError(`no value at ${upTo()} in ${state.path}`);
      // Missing levels are created as maps; indices and selectors need an existing list.
      if (segment.kind !== 'key') throw new NotFoundError(`no list at ${here()} in ${state.path}`);
      path.push(segment.name);
      node = undefined;
      continue;
    }
    if (isSeq(node)) {
      const index = seqIndex(state, node.items.length, segment, node.items, here);
      path.push(index);
      node = node.items[index];
    } else if (isMap(node)) {
      if (segment.kind !== 'key') {
        throw new KeyPathError(`${here()} in ${state.path} is a map; ${segment.kind === 'index' ? 'an index' : 'a selector'} needs a list`);
      }
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment.name);
      if (pair) {
        path.push(isScalar(pair.key) ? (pair.key.value as PathKey) : segment.name);
        node = pair.value ?? null;
      } else {
        if (!create) throw new NotFoundError(`no value at ${upTo()} in ${state.path}`);
        path.push(segment.name);
        node = undefined;
      }
    } else {
      throw new OperationError(`${here()} in ${state.path} is ${kindOf(node)}, not a map or list, so it has no ${upTo()}`);
    }
  }
  return { path, node };
}

function seqIndex(state: StateDoc, length: number, segment: Segment, items: unknown[], here: () => string): number {
  if (segment.kind === 'select') {
    const matches: number[] = [];
    items.forEach((item, i) => {
      if (isMap(item)) {
        const field = item.get(segment.field, true);
        if (isScalar(field) && String(field.value) === segment.value) matches.push(i);
      }
    });
    if (matches.length === 0) throw new NotFoundError(`no item in ${here()} of ${state.path} has ${segment.field}=${segment.value}`);
    if (matches.length > 1) {
      throw new KeyPathError(`${matches.length} items in ${here()} of ${state.path} have ${segment.field}=${segment.value}; a selector must match exactly one`);
    }
    return matches[0]!;
  }
  let index: number;
  if (segment.kind === 'index') index = segment.index;
  else if (/^-?\d+$/.test(segment.name)) index = Number(segment.name);
  else throw new KeyPathError(`${here()} in ${state.path} is a list; "${segment.name}" is not an index or a [field=value] selector`);
  const actual = index < 0 ? length + index : index;
  if (actual < 0 || actual >= length) {
    throw new NotFoundError(`index ${index} is out of range at ${here()} in ${state.path} (the list has ${length} items)`);
  }
  return actual;
}

export function getValue(state: StateDoc, segments: readonly Segment[]): unknown {
  if (segments.length === 0) return toPlain(state.doc, state.path) ?? {};
  const { node } = resolve(state, segments, false);
  return toPlain(state.doc, state.path, node);
}

export function setValue(state: StateDoc, segments: readonly Segment[], value: unknown): void {
  if (segments.length === 0) {
    requireMapValue(state, value, 'the top level');
    state.doc.contents = createNode(state.doc, value) as Node;
    return;
  }
  const { path, node } = resolve(state, segments, true);
  state.doc.setIn(path, replacementNode(state.doc, node, value));
}

export function appendValue(state: StateDoc, segments: readonly Segment[], item: unknown): void {
  const { path, node } = resolve(state, segments, true);
  const where = formatKeyPath(segments) || '(top level)';
  if (node === undefined || (isScalar(node) && node.value === null)) {
    if (path.length === 0) throw new OperationError(`cannot append to the top level of ${state.path}: it must stay a map`);
    state.doc.setIn(path, createNode(state.doc, [item]));
  } else if (isSeq(node)) {
    // `active_issues: []` is how an empty list is written; items go in block style.
    if (node.flow && node.items.length === 0) node.flow = false;
    node.add(createNode(state.doc, item));
  } else {
    throw new OperationError(`cannot append to ${where} in ${state.path}: it is ${kindOf(node)}, not a list`);
  }
}

export function deleteValue(state: StateDoc, segments: readonly Segment[]): void {
  if (segments.length === 0) throw new OperationError('delete needs a key path; to remove the file, give no key');
  const { path } = resolve(state, segments, false);
  state.doc.deleteIn(path);
}

/** Deep-merge a map into the map at the key path: maps merge key by key, other values replace. */
export function mergeValue(state: StateDoc, segments: readonly Segment[], value: unknown): void {
  const where = formatKeyPath(segments) || '(top level)';
  if (!isPlainObject(value)) throw new OperationError(`merge needs a map value for ${where} in ${state.path}, got ${describe(value)}`);
  const { path, node } = resolve(state, segments, true);
  if (node === undefined || (isScalar(node) && node.value === null)) {
    if (path.length === 0) state.doc.contents = createNode(state.doc, value) as Node;
    else state.doc.setIn(path, createNode(state.doc, value));
    return;
  }
  if (!isMap(node)) throw new OperationError(`cannot merge into ${where} in ${state.path}: it is ${kindOf(node)}, not a map`);
  mergeInto(state.doc, node, value);
}

function mergeInto(doc: Document, target: YAMLMap, value: Record<string, unknown>): void {
  for (const [key, incoming] of Object.entries(value)) {
    const existing = target.get(key, true);
    if (isMap(existing) && isPlainObject(incoming)) mergeInto(doc, existing, incoming);
    else target.set(key, replacementNode(doc, existing, incoming));
  }
}

/**
 * A node for `value` that replaces `old`. A scalar replacing a scalar keeps the
 * old node's comments and blank lines (and its quoting, when both are strings).
 */
function replacementNode(doc: Document, old: unknown, value: unknown): unknown {
  const node = createNode(doc, value);
  if (isScalar(old) && isScalar(node)) {
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
    node.spaceBefore = old.spaceBefore;
    if (typeof old.value === 'string' && typeof node.value === 'string' && old.type) node.type = old.type;
  } else if (old && typeof old === 'object' && 'comment' in old && node && typeof node === 'object') {
    const from = old as Node;
    const to = node as Node;
    to.commentBefore = from.commentBefore;
    to.spaceBefore = from.spaceBefore;
  }
  return node;
}

function createNode(doc: Document, value: unknown): Node | Scalar {
  return doc.createNode(value, { aliasDuplicateObjects: false }) as Node;
}

function requireMapValue(state: StateDoc, value: unknown, where: string): void {
  if (!isPlainObject(value)) throw new OperationError(`${where} of ${state.path} must be a map, got ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  return isPlainObject(value) ? 'a map' : `a ${typeof value}`;
}
