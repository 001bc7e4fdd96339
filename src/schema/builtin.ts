/**
 * The built-in schemas of the state files. Loose on purpose: real files carry
 * more fields than these name (unknown keys are kept, never stripped), and
 * timestamps come both as ISO strings and as bare YAML timestamps.
 */
import * as z from '../base/zod.js';
import { builtinKind } from './kinds.js';
import { STRATEGIES, type Strategy } from '../merge/strategy.js';

// ISO 8601 / YAML timestamp: 2026-01-21, 2026-01-21T15:54:19Z, 2026-01-21 15:54:19.5 +01:00
const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[ \t]*(?:Z|[+-]\d{1,2}(?::?\d{2})?))?)?$/;

export const timestamp = z.union(
  [z.date(), z.string().regex(TIMESTAMP, { message: 'expected a timestamp (ISO 8601 or YAML, e.g. 2026-01-21 15:54:19)' })],
  { error: 'expected a timestamp (ISO 8601 or YAML, e.g. 2026-01-21 15:54:19)' },
);
const text = z.string();
const optionalText = text.nullish();
// The seed's tools write `started: ""` when taking the time failed, and null for an unknown one.
const optionalTime = z.union([timestamp, z.literal('')], { error: 'expected a timestamp (ISO 8601 or YAML, e.g. 2026-01-21 15:54:19)' }).nullish();
/** An identity (`key`, `name`): old imports wrote numeric ones (`key: 4711`). */
const identity = z.union([z.string(), z.number()], { error: 'expected a string or a number' });
/** An empty file parses to null: treat it as an empty map. */
const map = z.record(z.string(), z.unknown());

export const activeIssue = z.looseObject({
  key: identity,
  summary: optionalText,
  branch: optionalText,
  status: optionalText,
  started: optionalTime,
});

export const activeBranch = z.looseObject({
  name: identity,
  issue: optionalText,
  created: optionalTime,
  last_commit: optionalText,
});

export const currentWork = z
  .looseObject({
    active_issues: z.array(activeIssue).nullish(),
    active_branches: z.array(activeBranch).nullish(),
  })
  .nullable();

export const deployedApp = z.looseObject({ name: identity, image: optionalText });

export const environment = z.looseObject({
  namespace: optionalText,
  reserved_until: optionalTime,
  deployed_apps: z.array(deployedApp).nullish(),
  last_deploy: optionalTime,
});

/** Environment name -> environment. Scalars beside them (last_updated: ...) are metadata. */
const environmentMap = z.record(z.string(), z.union([environment, z.string(), z.number(), z.boolean(), z.date(), z.null()]));

export const environments = environmentMap.nullable();
/** The same map nested under an `environments:` key, as real files often have it. */
export const nestedEnvironments = z.looseObject({ environments: environmentMap.nullable() });

/** A project's own fields in projects/<name>/current_work.yaml. */
export const projectFields = z.looseObject({ branch: optionalText, last_test_run: optionalTime, test_status: optionalText }).nullable();
/** projects/<name>/current_work.yaml: a routed current_work (see src/projects/routing.ts), so its issues are checked like the root file's. */
export const projectWork = z.intersection(currentWork, projectFields);
/** A project name: one path segment (it becomes projects/<name>/). */
export const projectName = z.string().max(100).regex(/^[\p{L}\p{N}_][\p{L}\p{N}._@+-]*$/u, { message: 'expected a project name (letters, digits, _ . @ + -; no "/")' });

export const session = z.looseObject({
  persona: optionalText,
  started: optionalTime,
  updated: optionalTime,
});

export const stateJson = z.looseObject({
  sessions: z.record(z.string(), session).optional(),
  persona: optionalText,
  tools: z.array(z.string()).optional(),
  current_project: projectName.nullish(),
});

/** A sync strategy. */
const strategy = z.enum(STRATEGIES as [Strategy, ...Strategy[]], { error: `expected a strategy: ${STRATEGIES.join(', ')}` });

/** .gitstate/sync.yaml: checked when written, so a bad setting stops that write, not every later sync. */
export const syncSettings = z
  // strict: a misspelt setting (`stratgy:`) would otherwise do nothing, silently
  .strictObject({
    auto: z.boolean().optional(),
    auto_delay_ms: z.number().int().nonnegative().max(3_600_000, { error: 'expected at most 3600000 (an hour)' }).optional(),
    strategy: strategy.optional(),
    rules: z.record(z.string(), strategy).optional(),
    identity: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  })
  .nullable();

/** Which built-in schema applies to a repo-relative path (and this content), if any. */
export function builtinSchemaFor(path: string, value: unknown): z.ZodType | undefined {
  switch (builtinKind(path)) {
    case 'current-work':
      return currentWork;
    case 'environments':
      return isNested(value) ? nestedEnvironments : environments;
    case 'map':
      return map.nullable();
    case 'state':
      return stateJson;
    case 'project-work':
      return projectWork;
    case 'sync-settings':
      return syncSettings;
    case undefined:
      return undefined;
  }
}

function isNested(value: unknown): boolean {
  return value !== null && typeof value === 'object' && 'environments' in value;
}
