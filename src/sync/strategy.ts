/** How a sync resolves a value both sides changed (merge.ts). A module of its own: the CLI checks --strategy before loading the merge. */
export type Strategy = 'newest' | 'ours' | 'theirs' | 'manual';
export const STRATEGIES: readonly Strategy[] = ['newest', 'ours', 'theirs', 'manual'];
