// @ts-check
/**
 * 001_key_columns: per secrets table, an indexed key-id column
 * (dbwarden_key_id; NULL means plaintext), an indexed blind index column
 * per lookup column (<column>_bidx), and the secret columns widened to a
 * text type that holds ciphertext. Each column's original definition is
 * recorded (dbwarden_secret_columns) before it is changed.
 *
 * down: refuses, before changing anything, when a value would not fit its
 * column's original type (naming the rows); otherwise restores the exact
 * original definitions and drops what up added.
 *
 * `store` is dbwarden's context (src/secrets/store/migrate.ts): the SQL
 * lives in the engine's dialect; this file says what happens, in which order.
 */

/**
 * @typedef {import('knex').Knex} Knex
 * @typedef {import('../src/secrets/store/migrate.js').MigrationContext} MigrationContext
 */

/**
 * @param {Knex} knex
 * @param {MigrationContext} store
 */
export async function up(knex, store) {
  for (const table of store.tables) await store.addKeyColumns(knex, table);
}

/**
 * @param {Knex} knex
 * @param {MigrationContext} store
 */
export async function down(knex, store) {
  const tables = await store.recordedTables(knex);
  // Every table is checked before any is changed: a refusal leaves the whole target as it was.
  for (const table of tables) await store.assertRestorable(knex, table);
  for (const table of tables) await store.removeKeyColumns(knex, table);
}
