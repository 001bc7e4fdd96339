/**
 * The data a file must hold after an edit, computed on plain values, apart from
 * the text. The text edit and this model are two ways to the same result;
 * verify.ts checks that the new text reads back as this value.
 */

/** A concrete step: a map key, or a list index. */
export type Step = string | number;

type Container = Record<string, unknown> | unknown[];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function child(container: unknown, step: Step): unknown {
  if (Array.isArray(container) && typeof step === 'number') return container[step];
  if (isObject(container)) return Object.hasOwn(container, String(step)) ? container[String(step)] : undefined;
  return undefined;
}

function put(container: Container, step: Step, value: unknown): void {
  if (Array.isArray(container)) container[step as number] = value;
  else Object.defineProperty(container, String(step), { value, writable: true, enumerable: true, configurable: true });
}

/** `root` with `value` at `steps`; missing or null levels become maps. Returns the new root. */
export function setAt(root: unknown, steps: readonly Step[], value: unknown): unknown {
  if (steps.length === 0) return structuredClone(value);
  const top: Container = isObject(root) || Array.isArray(root) ? root : {};
  let node: Container = top;
  for (let i = 0; i < steps.length - 1; i++) {
    let next = child(node, steps[i]!);
    if (!isObject(next) && !Array.isArray(next)) {
      next = {};
      put(node, steps[i]!, next);
    }
    node = next as Container;
  }
  put(node, steps[steps.length - 1]!, structuredClone(value));
  return top;
}

export function getAt(root: unknown, steps: readonly Step[]): unknown {
  let node = root;
  for (const step of steps) node = child(node, step);
  return node;
}

export function appendAt(root: unknown, steps: readonly Step[], item: unknown): unknown {
  const list = getAt(root, steps);
  if (Array.isArray(list)) {
    list.push(structuredClone(item));
    return root;
  }
  return setAt(root, steps, [item]);
}

export function deleteAt(root: unknown, steps: readonly Step[]): unknown {
  const parent = getAt(root, steps.slice(0, -1));
  const last = steps[steps.length - 1]!;
  if (Array.isArray(parent)) parent.splice(last as number, 1);
  else if (isObject(parent)) delete parent[String(last)];
  return root;
}

/** Deep-merge `value` into the map at `steps`: maps merge key by key, anything else replaces. */
export function mergeAt(root: unknown, steps: readonly Step[], value: Record<string, unknown>): unknown {
  const target = getAt(root, steps);
  if (!isObject(target)) return setAt(root, steps, value);
  mergeInto(target, value);
  return root;
}

function mergeInto(target: Record<string, unknown>, value: Record<string, unknown>): void {
  for (const [key, incoming] of Object.entries(value)) {
    const existing = child(target, key);
    if (isObject(existing) && isObject(incoming)) mergeInto(existing, incoming);
    else put(target, key, structuredClone(incoming));
  }
}
