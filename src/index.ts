/**
 * dbwarden's Node API: load and validate a deployment, plan changes, apply and verify them;
 * encrypt, decrypt and look up stored secrets.
 * The CLI (`dbwarden`) is built on exactly these functions.
 */
export { DbwardenError, ExitCode, InvalidInputError, NotAvailableError } from './errors.js';
export * from './plan/index.js';
export { type Diagnostic, DiagnosticList, formatDiagnostic } from './policy/diagnostics.js';
export { type LoadResult, loadDeployment, loadPolicies } from './policy/load.js';
export type * from './policy/model.js';
export { jsonSchemas } from './policy/schema.js';
export {
  type ApplyOptions,
  type ApplyResult,
  type PlanResult,
  runApply,
  runPlan,
  type TargetPlan,
} from './runner/apply.js';
export { runVerify, type VerifyResult } from './runner/verify.js';
export { type PrivilegeDifference } from './plan/expected.js';
// The encrypted store, for applications: encrypt and decrypt values in place, and find rows by
// a lookup column through its blind index (docs/encryption.md).
export {
  type BlindIndexCandidate,
  createSecretStore,
  CryptoPoolError,
  encodePrimaryKey,
  type EncryptedValue,
  kmsMasterKey,
  loadMasterKeys,
  type MasterKey,
  type MasterKeySet,
  masterKeySet,
  type Place,
  type PrimaryKeyPart,
  rawMasterKey,
  type SecretStore,
  type SecretStoreOptions,
  SecretValueError,
  type SecretValueProblem,
  type StoredValueKind,
  VALUE_PREFIX,
} from './secrets/index.js';
