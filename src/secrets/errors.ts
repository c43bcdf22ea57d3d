/**
 * Typed errors of the encrypted credential store.
 *
 * Messages name places (table, column, primary key) and key ids, never a
 * plaintext, a ciphertext or key bytes: they end up in logs and CI output.
 */
import { DbwardenError, ExitCode } from '../errors.js';
import { formatPlace, type Place } from './place.js';

/**
 * Why a stored value could not be turned into what was asked for.
 *
 * - `wrong-place`: a ciphertext made for another row, column or table (copied);
 * - `unknown-key`: encrypted under a key id no configured key has;
 * - `wrong-key`: the configured key with that id does not open it (other key material);
 * - `wrong-suite`: a valid message, but not the committing suite without signatures;
 * - `malformed`: carries the dbwarden prefix but is not a readable message;
 * - `not-encrypted`: plaintext where a ciphertext was expected;
 * - `already-encrypted`: a ciphertext where a plaintext was expected (never encrypt twice);
 * - `reserved-prefix`: a plaintext starting with the ciphertext prefix, which would be ambiguous;
 * - `invalid-plaintext`: not well-formed Unicode (lone surrogates), or decrypted bytes that are not UTF-8;
 * - `undecryptable`: authentication failed after the key opened the data key (tampered body).
 */
export type SecretValueProblem =
  | 'wrong-place'
  | 'unknown-key'
  | 'wrong-key'
  | 'wrong-suite'
  | 'malformed'
  | 'not-encrypted'
  | 'already-encrypted'
  | 'reserved-prefix'
  | 'invalid-plaintext'
  | 'undecryptable';

/** Key material problems are operator input (exit 2); everything else is a data problem (exit 1). */
const KEY_PROBLEMS: ReadonlySet<SecretValueProblem> = new Set(['unknown-key', 'wrong-key']);

export interface SecretValueErrorDetails {
  readonly problem: SecretValueProblem;
  /** Where the value was found (or was to be written). */
  readonly place: Place;
  /** `wrong-place`: where the ciphertext says it belongs. */
  readonly claimedPlace?: Place;
  /** The key id the ciphertext names, when it names one. */
  readonly keyId?: string;
}

/** One stored value that could not be encrypted, decrypted or re-encrypted. */
export class SecretValueError extends DbwardenError {
  override readonly name = 'SecretValueError';
  readonly exitCode: ExitCode;
  readonly problem: SecretValueProblem;
  readonly place: Place;
  readonly claimedPlace: Place | undefined;
  readonly keyId: string | undefined;
  /** The message without the place in front (what crosses a worker boundary). */
  readonly detail: string;

  constructor(detail: string, details: SecretValueErrorDetails, options: { hint?: string } = {}) {
    super(`${formatPlace(details.place)}: ${detail}`, options);
    this.detail = detail;
    this.problem = details.problem;
    this.place = details.place;
    this.claimedPlace = details.claimedPlace;
    this.keyId = details.keyId;
    this.exitCode = KEY_PROBLEMS.has(details.problem) ? ExitCode.invalidInput : ExitCode.runtimeFailure;
  }
}

/** The worker pool itself failed (a worker crashed or could not start): no row is to blame. */
export class CryptoPoolError extends DbwardenError {
  override readonly name = 'CryptoPoolError';
  readonly exitCode = ExitCode.runtimeFailure;
}
