/**
 * Which built-in schema a state file has, by path alone, without loading zod:
 * most writes go to files whose only rule is "a map" (knowledge,
 * shared_context) or that have no schema, and a CLI call should not pay for
 * zod to check those (schema/check.ts).
 */
export type BuiltinKind = 'current-work' | 'environments' | 'map' | 'state' | 'project-work' | 'sync-settings';

export function builtinKind(path: string): BuiltinKind | undefined {
  switch (path) {
    case 'current_work.yaml':
      return 'current-work';
    case 'environments.yaml':
      return 'environments';
    case 'knowledge.yaml':
    case 'shared_context.yaml':
      return 'map';
    case 'state.json':
      return 'state';
    case '.gitstate/sync.yaml':
      return 'sync-settings';
  }
  return /^projects\/[^/]+\/current_work\.yaml$/.test(path) ? 'project-work' : undefined;
}
