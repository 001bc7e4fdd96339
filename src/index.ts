/** gitstate: a Git-backed, versioned state repository. The library core. */
export { StateRepo } from './core/repo.js';
export type { RepoOptions, WriteOptions, WriteResult, ValidationResult, RecoveryReport, TxOps } from './core/repo.js';
export { StateManager, StateCorruptError, readStateFile } from './state/manager.js';
export type { StateManagerOptions, StateData } from './state/manager.js';
export { resetState, flushStateFile } from './state/commands.js';
export { loadConfig, configPath, ConfigError } from './config/config.js';
export type { Config } from './config/config.js';
export { findSecret, assertNoSecrets, compileAllowList, ALLOW_FILE } from './security/secrets.js';
export { parseKeyPath, formatKeyPath } from './base/keypath.js';
export type { Segment } from './base/keypath.js';
export { normalizeStatePath } from './base/paths.js';
export { parseValueText, MAX_FILE_BYTES, MAX_VALUE_BYTES, MAX_DEPTH } from './yaml/document.js';
export * from './errors.js';
