/**
 * The store's migrations, in order: what `downgrade --to` takes and what
 * dbwarden_migrations records. A module of its own so the CLI can name them
 * in its help without loading the store (knex, the crypto).
 */
export const MIGRATION_NAMES: readonly string[] = Object.freeze(['001_key_columns', '002_encrypt']);
