/**
 * isomorphic-git, loaded with `require` on first use. Its Node entry point is a
 * 580 KB CommonJS bundle; imported as ESM, Node first scans the whole source
 * for named exports. Loaded lazily: a CLI read never needs it, and a write
 * needs it only for what is not a loose object (packs, packed refs) and for
 * the rarer operations (status, remotes, a rebuilt index).
 * `isomorphic-git/managers` is a second 215 KB bundle, loaded only when needed.
 */
import { createRequire } from 'node:module';
import type * as Managers from 'isomorphic-git/managers';
import type * as Models from 'isomorphic-git/models';

const require = createRequire(import.meta.url);

type Git = typeof import('isomorphic-git').default;
let git: Git | null = null;
let models: typeof Models | null = null;
let managers: typeof Managers | null = null;

export function iso(): Git {
  git ??= (require('isomorphic-git') as { default: Git }).default;
  return git;
}

export function isoModels(): typeof Models {
  models ??= require('isomorphic-git/models') as typeof Models;
  return models;
}

/** isomorphic-git's index manager, for the index updates gitstate does not patch in place. */
export function indexManager(): typeof Managers.GitIndexManager {
  managers ??= require('isomorphic-git/managers') as typeof Managers;
  return managers.GitIndexManager;
}
