/**
 * Operations at a key path on a state file: get, set, append, delete, merge.
 * Each one edits the text at the edited node only (splice.ts) and applies the
 * same operation to the file's plain data (intent.ts); the Transaction checks
 * that the final text reads back as that data (verify.ts).
 */
import { isAlias, isMap, isScalar, isSeq, visit } from 'yaml';
import type { Document, Node, Pair, YAMLMap } from 'yaml';
import { KeyPathError, NotFoundError, OperationError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { DEFAULT_IDENTITY_FIELDS } from '../merge/structure.js';
import { kindOf, readStateText, toPlain, type StateDoc } from './document.js';
import { appendAt, deleteAt, getAt, mergeAt, setAt, type Step } from './intent.js';
import { jsonText, preparer, stringifyOptions } from './render.js';
import { addEntries, appendItems, applyPatches, removeSlot, replaceSlot, Unsupported, type Patch, type Slot, type SpliceContext } from './splice.js';
import { detectStyle, type Style } from './style.js';
import { RoundTripError } from './verify.js';

/** The document of a state's current text (parsed again after an edit). */
export function docOf(state: StateDoc): Document {
  if (!state.parsed) {
    try {
      state.parsed = readStateText(state.text, state.path).doc;
    } catch (err) {
      throw new RoundTripError(`internal error: an edit of ${state.path} made text that does not parse (${(err as Error).message}); nothing was written`, { file: state.path });
    }
  }
  return state.parsed;
}

function styleOf(state: StateDoc): Style {
  state.style ??= detectStyle(state.text, docOf(state), state.json);
  return state.style;
}

interface Resolved {
  /** The deepest position the path reaches in the document. */
  slot: Slot;
  /** Plain-data steps to `slot`. */
  steps: Step[];
  /** Document keys to `slot` (scalar key values and indices), for the Document API. */
  keys: unknown[];
  /** Trailing map keys the document does not have yet (only when creating). */
  missing: string[];
}

type Mode = 'read' | 'edit' | 'create';

/**
 * Walk `segments` through the document. Selectors and numeric names become
 * indices. With `create`, trailing map keys may be missing (the caller creates
 * them); otherwise a missing value is a NotFoundError.
 */
function resolve(state: StateDoc, segments: readonly Segment[], mode: Mode): Resolved {
  const doc = docOf(state);
  let slot: Slot = { kind: 'root', node: (doc.contents as Node | null) ?? null };
  const steps: Step[] = [];
  const keys: unknown[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const here = () => formatKeyPath(segments.slice(0, i)) || '(top level)';
    const upTo = () => formatKeyPath(segments.slice(0, i + 1));
    const rest = (): string[] => {
      if (mode !== 'create') throw new NotFoundError(`no value at ${upTo()} in ${state.path}`);
      return segments.slice(i).map((s) => {
        if (s.kind !== 'key') throw new NotFoundError(`no list at ${formatKeyPath(segments.slice(0, segments.indexOf(s))) || '(top level)'} in ${state.path}`);
        return s.name;
      });
    };
    let node: unknown = slot.node;
    if (isAlias(node)) {
      if (mode !== 'read') throw new KeyPathError(`${here()} in ${state.path} is an alias (*${node.source}); edit its anchor instead`);
      node = node.resolve(doc);
    }
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
      return { slot, steps, keys, missing: rest() };
    }
    if (isSeq(node)) {
      const index = seqIndex(state, segment, node.items, here);
      slot = { kind: 'item', seq: node, index, node: (node.items[index] as Node | null) ?? null, parent: slot };
      steps.push(index);
      keys.push(index);
    } else if (isMap(node)) {
      if (segment.kind !== 'key') {
        throw new KeyPathError(`${here()} in ${state.path} is a map; ${segment.kind === 'index' ? 'an index' : 'a selector'} needs a list`);
      }
      const pair = findPair(node, segment.name);
      if (!pair) return { slot, steps, keys, missing: rest() };
      slot = { kind: 'pair', map: node, pair, node: (pair.value as Node | null) ?? null, parent: slot };
      steps.push(plainKey(pair));
      keys.push(isScalar(pair.key) ? pair.key.value : pair.key);
    } else {
      throw new OperationError(`${here()} in ${state.path} is ${kindOf(node)}, not a map or list, so it has no ${upTo()}`);
    }
  }
  return { slot, steps, keys, missing: [] };
}

function findPair(map: YAMLMap, name: string): Pair | undefined {
  return map.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === name);
}

/** The key as the document's plain value has it (yaml writes a null key as ""). */
function plainKey(pair: Pair): string {
  const key = isScalar(pair.key) ? pair.key.value : pair.key;
  return key === null ? '' : String(key);
}

function seqIndex(state: StateDoc, segment: Segment, items: unknown[], here: () => string): number {
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
  const actual = index < 0 ? items.length + index : index;
  if (actual < 0 || actual >= items.length) {
    throw new NotFoundError(`index ${index} is out of range at ${here()} in ${state.path} (the list has ${items.length} items)`);
  }
  return actual;
}

// ---- operations ----------------------------------------------------------------

export function getValue(state: StateDoc, segments: readonly Segment[]): unknown {
  if (segments.length === 0) return structuredClone(state.value) ?? {};
  const { slot } = resolve(state, segments, 'read');
  return toPlain(docOf(state), state.path, isAlias(slot.node) ? slot.node.resolve(docOf(state)) : slot.node);
}

export function setValue(state: StateDoc, segments: readonly Segment[], value: unknown): void {
  if (segments.length === 0) {
    requireMapValue(state, value, 'the top level');
    return replaceDocument(state, value);
  }
  const r = resolve(state, segments, 'create');
  createOrReplace(state, r, value, () => setAt(state.value, [...r.steps, ...r.missing], value));
}

/** Replace the whole content with `value` (any value: a merge result may be a list), in the file's style. */
export function replaceDocument(state: StateDoc, value: unknown): void {
  const root: Slot = { kind: 'root', node: (docOf(state).contents as Node | null) ?? null };
  guardShared(state, root, true);
  edit(state, (ctx) => replaceSlot(ctx, root, value), () => setAt(state.value, [], value), { slot: root, steps: [], keys: [] });
}

/**
 * Append `item` to the list at the key path (created when missing). With an
 * identity field (`key`, `name`, `id`, or the one configured for this list), an
 * item whose identity is already in the list is refused: `[key=X]` must stay unique
 * (`identity: false` skips the check, for a merge result that is already decided).
 */
export function appendValue(state: StateDoc, segments: readonly Segment[], item: unknown, identity?: string | false): void {
  appendValues(state, segments, [item], identity);
}

/** Append several items to one list in one edit (one parse of the result, not one per item). */
export function appendValues(state: StateDoc, segments: readonly Segment[], items: readonly unknown[], identity?: string | false): void {
  const where = formatKeyPath(segments) || '(top level)';
  const r = resolve(state, segments, 'create');
  const node = r.slot.node;
  // the new value (appendAt returns it: the root, or a new one where the list is made)
  const apply = () => items.reduce<unknown>((root, item) => appendAt(root, [...r.steps, ...r.missing], item), state.value);
  if (r.missing.length === 0 && isSeq(node)) {
    if (identity !== false) {
      const list = [...(getAt(state.value, r.steps) as unknown[])];
      for (const item of items) {
        checkIdentity(state, list, item, where, identity);
        list.push(item);
      }
    }
    guardShared(state, r.slot, false);
    return edit(state, (ctx) => appendItems(ctx, r.slot, node, items), apply, r);
  }
  if (r.missing.length === 0 && !(node === null || (isScalar(node) && node.value === null))) {
    throw new OperationError(`cannot append to ${where} in ${state.path}: it is ${kindOf(node)}, not a list`);
  }
  if (r.slot.kind === 'root' && r.missing.length === 0) throw new OperationError(`cannot append to the top level of ${state.path}: it must stay a map`);
  createOrReplace(state, r, [...items], apply);
}

export function deleteValue(state: StateDoc, segments: readonly Segment[]): void {
  if (segments.length === 0) throw new OperationError('delete needs a key path; to remove the file, give no key');
  const r = resolve(state, segments, 'edit');
  const slot = r.slot as Exclude<Slot, { kind: 'root' }>;
  guardShared(state, slot, true);
  // Should the splice fail, the list or map that held the value is rendered again.
  const parent = { slot: slot.parent, steps: r.steps.slice(0, -1), keys: r.keys.slice(0, -1) };
  edit(state, (ctx) => removeSlot(ctx, slot), () => deleteAt(state.value, r.steps), parent);
}

/** Deep-merge a map into the map at the key path: maps merge key by key, other values replace. */
export function mergeValue(state: StateDoc, segments: readonly Segment[], value: unknown): void {
  const where = formatKeyPath(segments) || '(top level)';
  if (!isPlainObject(value)) throw new OperationError(`merge needs a map value for ${where} in ${state.path}, got ${describe(value)}`);
  const r = resolve(state, segments, 'create');
  const node = r.slot.node;
  const apply = () => mergeAt(state.value, [...r.steps, ...r.missing], value);
  if (r.missing.length > 0 || node === null || (isScalar(node) && node.value === null)) return createOrReplace(state, r, value, apply);
  if (!isMap(node)) throw new OperationError(`cannot merge into ${where} in ${state.path}: it is ${kindOf(node)}, not a map`);
  guardShared(state, r.slot, false);
  edit(state, (ctx) => mergePatches(ctx, state, r.slot, node, value), apply, r);
}

function mergePatches(ctx: SpliceContext, state: StateDoc, slot: Slot, map: YAMLMap, value: Record<string, unknown>): Patch[] {
  const patches: Patch[] = [];
  const added: Array<[string, unknown]> = [];
  for (const [key, incoming] of Object.entries(value)) {
    const pair = findPair(map, key);
    if (!pair) {
      added.push([key, incoming]);
      continue;
    }
    const child: Slot = { kind: 'pair', map, pair, node: (pair.value as Node | null) ?? null, parent: slot };
    if (isAlias(child.node)) throw new OperationError(`${key} in ${state.path} is an alias (*${child.node.source}); edit its anchor instead`);
    if (isMap(child.node) && isPlainObject(incoming)) patches.push(...mergePatches(ctx, state, child, child.node, incoming));
    else {
      guardShared(state, child, true);
      patches.push(...replaceSlot(ctx, child, incoming));
    }
  }
  patches.push(...addEntries(ctx, slot, map, added));
  return patches;
}

/** Put `value` at the resolved path: replace the node there, or create the missing keys. */
function createOrReplace(state: StateDoc, r: Resolved, value: unknown, apply: () => unknown): void {
  const node = r.slot.node;
  guardShared(state, r.slot, r.missing.length === 0 || !isMap(node));
  if (r.missing.length > 0 && isMap(node)) {
    const [first, ...rest] = r.missing;
    return edit(state, (ctx) => addEntries(ctx, r.slot, node, [[first!, nest(rest, value)]]), apply, r);
  }
  if (r.slot.kind === 'root' && r.missing.length === 0) requireMapValue(state, value, 'the top level');
  edit(state, (ctx) => replaceSlot(ctx, r.slot, nest(r.missing, value)), apply, r);
}

function nest(keys: readonly string[], value: unknown): unknown {
  return keys.reduceRight<unknown>((inner, key) => Object.fromEntries([[key, inner]]), value);
}

/**
 * Edit the text with the splicer's patches, then the plain data. A layout the
 * splicer does not handle is rendered instead: the node at `fallback` from its
 * new data, with the rest of the document through the yaml library.
 */
function edit(state: StateDoc, patches: (ctx: SpliceContext) => Patch[], apply: () => unknown, fallback: Pick<Resolved, 'slot' | 'steps' | 'keys'>): void {
  const ctx: SpliceContext = { text: state.text, doc: docOf(state), style: styleOf(state), json: state.json, path: state.path };
  let text: string | null;
  try {
    text = applyPatches(state.text, patches(ctx));
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    text = null;
  }
  state.value = apply();
  if (text === null) {
    text = rerender(state, fallback.keys, getAt(state.value, fallback.steps));
    state.rerendered++;
  }
  state.text = text;
  state.parsed = undefined;
}

function rerender(state: StateDoc, keys: readonly unknown[], value: unknown): string {
  const style = styleOf(state);
  if (state.json) return jsonText(state.value, style, '', state.path) + (state.text === '' || /\n$/.test(state.text) ? style.eol : '');
  const doc = docOf(state).clone();
  const p = preparer(style);
  const node = p.node(value, false);
  if (keys.length === 0) doc.contents = node;
  else doc.setIn(keys, node);
  let out = p.finish(doc.toString(stringifyOptions(style)));
  if (style.eol === '\r\n') out = out.replace(/\r?\n/g, '\r\n');
  if (state.text.startsWith('\ufeff') && !out.startsWith('\ufeff')) out = `\ufeff${out}`;
  return out;
}

// ---- checks --------------------------------------------------------------------

/** An edit may not change what an alias elsewhere repeats, nor remove an anchor an alias uses. */
function guardShared(state: StateDoc, slot: Slot, replaces: boolean): void {
  const doc = docOf(state);
  const used = new Set<string>();
  visit(doc, { Alias: (_, alias) => void used.add(alias.source) });
  if (used.size === 0) return;
  const shared = (node: unknown) => (node && typeof node === 'object' && 'anchor' in node && typeof node.anchor === 'string' && used.has(node.anchor) ? node.anchor : null);
  for (let s: Slot | undefined = slot; s; s = s.kind === 'root' ? undefined : s.parent) {
    const anchor = shared(s.node);
    if (anchor) throw new OperationError(`this edit of ${state.path} would change the anchor &${anchor}, which an alias (*${anchor}) repeats elsewhere in the file; edit the file as a whole (gitstate write)`);
  }
  if (replaces && slot.node) {
    visit(slot.node, {
      Node: (_, node) => {
        const anchor = shared(node);
        if (anchor) throw new OperationError(`this edit of ${state.path} would remove the anchor &${anchor}, which an alias (*${anchor}) uses; edit the file as a whole (gitstate write)`);
      },
    });
  }
}

function checkIdentity(state: StateDoc, list: unknown[], item: unknown, where: string, configured?: string): void {
  if (!isPlainObject(item) || !Array.isArray(list)) return;
  const fields = configured ? [configured] : DEFAULT_IDENTITY_FIELDS;
  const field = fields.find((f) => isIdentityValue(item[f]));
  if (!field) return;
  const id = String(item[field]);
  if (list.some((existing) => isPlainObject(existing) && isIdentityValue(existing[field]) && String(existing[field]) === id)) {
    throw new OperationError(
      `${where} in ${state.path} already has an item with ${field}=${id}; to change it, use "gitstate set ${state.path} '${where}[${field}=${id}].FIELD' VALUE"`,
      { file: state.path, key: `${where}[${field}=${id}]` },
    );
  }
}

function isIdentityValue(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
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
