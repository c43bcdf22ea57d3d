/** Passwords, SCRAM verifiers, login URLs and the credential sinks (directory, Kubernetes Secrets). */
export { generatePassword, PASSWORD_BYTES } from './password.js';
export {
  DEFAULT_SCRAM_ITERATIONS,
  SCRAM_SALT_BYTES,
  type ScramKeys,
  scramSha256Keys,
  scramSha256Verifier,
  scramVerifierMatches,
} from '../dialects/postgres/scram.js';
export { loginUrl, redactUrl } from './login-url.js';
export {
  assertComponentName,
  COMPONENT_NAME,
  type CredentialDirectoryOptions,
  CredentialDirectory,
  type CredentialFile,
  CredentialFileError,
  formatCredentialFile,
  parseCredentialFile,
} from './credential-file.js';
export { type CredentialStore, MirroredCredentialStore } from './store.js';
export {
  KubernetesSecretError,
  kubernetesNamespace,
  kubernetesSecretApi,
  type SecretApi,
} from './kubernetes-api.js';
export { KubernetesSecretStore, type KubernetesSecretStoreOptions } from './kubernetes-secret.js';
export { DEFAULT_SECRET_NAME_PATTERN, renderSecretName, secretNameProblem } from '../policy/secret-name.js';
