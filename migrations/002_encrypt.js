// @ts-check
/**
 * 002_encrypt: every plaintext value of the secrets tables encrypted under
 * the current master key, its blind indexes filled, its key id set; all of
 * a row in one conditional update.
 *
 * down: every encrypted value decrypted back to plaintext; key id and blind
 * indexes cleared. Uses the tables 001_key_columns recorded, so what is
 * encrypted is decrypted even if the config changed since.
 *
 * Both directions run in batches, each its own transaction (hence no
 * transaction around the migration): killed at any point, a rerun picks up
 * the rows still pending, which the key id column tells apart.
 */

/**
 * @typedef {import('knex').Knex} Knex
 * @typedef {import('../src/secrets/store/migrate.js').MigrationContext} MigrationContext
 */

export const config = { transaction: false };

/**
 * @param {Knex} _knex
 * @param {MigrationContext} store
 */
export async function up(_knex, store) {
  for (const table of store.tables) await store.encrypt(table);
}

/**
 * @param {Knex} knex
 * @param {MigrationContext} store
 */
export async function down(knex, store) {
  for (const table of await store.recordedTables(knex)) await store.decrypt(table);
}
