/** How a sync resolves a value both sides changed (sync/merge.ts). A module of its own: the CLI checks --strategy, and the schema of .gitstate/sync.yaml its values, without loading the merge. */
export type Strategy = 'newest' | 'ours' | 'theirs' | 'manual';
export const STRATEGIES: readonly Strategy[] = ['newest', 'ours', 'theirs', 'manual'];
