/**
 * Internal entry point for dbwarden's own tests and benchmark: functions that are
 * not part of the package's API (src/index.ts) and that package.json's "exports"
 * does not reach. Nothing in src/ imports this module.
 *
 * - applyChanges: the planner's simulator, a plan's changes applied to a catalog in
 *   memory; the unit tests check with it that a plan converges.
 * - upgradeSecretsWith: upgradeSecrets with its crypto passed in; the benchmark's
 *   database-cost baseline (bench/reencrypt.ts) runs the rotation's pipeline with a
 *   crypto that copies values instead of encrypting them.
 */
export { applyChanges } from './plan/simulate.js';
export { upgradeSecretsWith } from './secrets/store/index.js';
