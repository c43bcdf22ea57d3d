/** Passwords, SCRAM verifiers, login URLs and the credential directory sink. */
export { generatePassword, PASSWORD_BYTES } from './password.js';
export {
  DEFAULT_SCRAM_ITERATIONS,
  SCRAM_SALT_BYTES,
  type ScramKeys,
  scramSha256Keys,
  scramSha256Verifier,
  scramVerifierMatches,
} from './scram.js';
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
