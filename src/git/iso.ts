/**
 * isomorphic-git, loaded with `require`. Its Node entry point is a 580 KB
 * CommonJS bundle; imported as ESM, Node first scans the whole source for named
 * exports, ~50 ms on every CLI start. `require` skips that scan.
 * `isomorphic-git/managers` is a second 215 KB bundle, loaded only when needed.
 */
import { createRequire } from 'node:module';
import type * as Managers from 'isomorphic-git/managers';
import type * as Models from 'isomorphic-git/models';

const require = createRequire(import.meta.url);

export const git = (require('isomorphic-git') as { default: typeof import('isomorphic-git').default }).default;
export const { FileSystem } = require('isomorphic-git/models') as typeof Models;

let managers: typeof Managers | null = null;
/** isomorphic-git's index manager, for the index updates gitstate does not patch in place. */
export function indexManager(): typeof Managers.GitIndexManager {
  managers ??= require('isomorphic-git/managers') as typeof Managers;
  return managers.GitIndexManager;
}
