/**
 * Defaults the CLI shows in its help: constants only, so `dbwarden --help`
 * and `--version` load no driver, no crypto and no Kubernetes client (lock-wait.ts
 * imports nothing).
 */

export { DEFAULT_LOCK_WAIT_SECONDS } from '../dialects/lock-wait.js';

/** Rows per secrets table that upgrade decrypts in place after re-encrypting (verify --secrets checks every row). */
export const DEFAULT_VERIFY_SAMPLE = 100;
