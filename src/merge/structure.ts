/**
 * What structural diff and merge agree on: plain values, equality, and which
 * lists are lists of records with an identity (matched by `key`, `name`, `id`)
 * rather than plain sequences.
 */
import { isDeepStrictEqual } from 'node:util';

export type Plain = Record<string, unknown>;

/** Fields that identify the records of a list, tried in order. */
export const DEFAULT_IDENTITY_FIELDS = ['key', 'name', 'id'] as const;

export interface IdentityOptions {
  /** Identity field per list key path (`active_issues: key`), overriding detection. */
  identity?: Record<string, string>;
  fields?: readonly string[];
}

export function isPlainObject(value: unknown): value is Plain {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

export function equal(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/**
 * The field that identifies the records of every given list: each item a map
 * with a scalar, unique value for it. null when the lists are plain sequences.
 */
export function identityField(lists: ReadonlyArray<readonly unknown[] | undefined>, path: string, options: IdentityOptions = {}): string | null {
  const configured = options.identity?.[path.replace(/\[[^\]]*\]/g, '[]')] ?? options.identity?.[path];
  const candidates = configured ? [configured] : (options.fields ?? DEFAULT_IDENTITY_FIELDS);
  const present = lists.filter((l): l is readonly unknown[] => Array.isArray(l));
  if (present.every((l) => l.length === 0)) return null;
  for (const field of candidates) {
    const ok = present.every((list) => {
      const seen = new Set<string>();
      return list.every((item) => {
        if (!isPlainObject(item)) return false;
        const id = item[field];
        if (id === null || id === undefined || typeof id === 'object') return false;
        const key = String(id);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    });
    if (ok) return field;
  }
  return null;
}

export function idOf(item: unknown, field: string): string {
  return String((item as Plain)[field]);
}
