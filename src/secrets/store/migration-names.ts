/**
 * The store's migrations, in order: what `downgrade --to` takes and what
 * dbwarden_migrations records. A module of its own so the CLI can name them
 * in its help without loading the store (knex, the crypto).
 */
import { InvalidInputError } from '../../errors.js';

export const MIGRATION_NAMES: readonly string[] = Object.freeze(['001_key_columns', '002_encrypt']);

/**
 * `downgrade --to`: base or a migration name; anything else is invalid input (exit 2). The CLI
 * checks it before it asks for confirmation, downgradeSecrets again before it connects.
 */
export function checkDowngradeTo(to: string): void {
  if (to !== 'base' && !MIGRATION_NAMES.includes(to)) {
    throw new InvalidInputError(`--to ${to}: no such migration`, {
      hint: `use base or one of: ${MIGRATION_NAMES.join(', ')}`,
    });
  }
}
