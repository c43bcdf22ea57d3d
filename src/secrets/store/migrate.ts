/**
 * The store's knex migrations (top-level migrations/), run programmatically
 * through a custom migration source, so each migration gets dbwarden's
 * context (the target's secrets tables, the crypto, the engine's SQL) as
 * its second argument: `up(knex, store)`, `down(knex, store)`.
 *
 * Loading: the migrations are plain ESM JavaScript (`// @ts-check`, JSDoc
 * types), imported from `<package root>/migrations/NAME.js`. This module
 * sits three levels below the root both as TypeScript source
 * (src/secrets/store/) and compiled (dist/secrets/store/), so the same
 * relative URL finds them from vitest, tsx and the built CLI, and the
 * package ships them ("files": migrations).
 *
 * Tracking: knex's tables `dbwarden_migrations` and `dbwarden_migrations_lock`
 * in the target database. dbwarden's own store lock (advisory lock /
 * GET_LOCK) is held for the whole run, so knex's lock row, which a killed
 * run leaves set, is cleared before each run. A downgrade to base drops both.
 *
 * Transactions: on an engine with transactional DDL (PostgreSQL) a migration
 * runs in one transaction unless it exports `config = { transaction: false }`
 * (002_encrypt: each batch is its own transaction); on MySQL/MariaDB none
 * does, and every step is idempotent instead.
 */
import type { Knex } from 'knex';
import { DbwardenError } from '../../errors.js';
import { SecretStoreError } from './errors.js';
import type { RecordedTable } from './schema.js';
import type { TargetSession } from './session.js';
import { selectAppliedMigrations } from '../../dialects/store-sql.js';
import { MIGRATION_NAMES } from './migration-names.js';
import { MIGRATIONS_TABLE, type SecretTable } from './tables.js';

export { MIGRATION_NAMES };

const MIGRATIONS_DIR = new URL('../../../migrations/', import.meta.url);

/** What a migration gets besides knex: dbwarden's operations on this target. */
export interface MigrationContext {
  readonly target: string;
  /** The secrets tables configured on this target. */
  readonly tables: readonly SecretTable[];
  /** The tables 001_key_columns recorded (what is, or may be, encrypted), read through `db`. */
  recordedTables(db: Knex): Promise<RecordedTable[]>;
  /** 001 up: record original definitions, add the key-id and blind index columns, widen. */
  addKeyColumns(db: Knex, table: SecretTable): Promise<void>;
  /** 001 down, before any change: refuses when a value would not fit its original type. */
  assertRestorable(db: Knex, table: RecordedTable): Promise<void>;
  /** 001 down: original definitions back, key columns dropped. */
  removeKeyColumns(db: Knex, table: RecordedTable): Promise<void>;
  /** 002 up: every plaintext row encrypted under the current key (own transactions per batch). */
  encrypt(table: SecretTable): Promise<void>;
  /** 002 down: every encrypted row back to plaintext, key id and blind indexes cleared. */
  decrypt(table: SecretTable): Promise<void>;
}

interface MigrationModule {
  up(db: Knex, store: MigrationContext): Promise<void>;
  down(db: Knex, store: MigrationContext): Promise<void>;
  config?: { transaction?: boolean };
}

/** knex's Migration, with the per-migration config knex reads but does not type. */
type KnexMigration = Knex.Migration & { config: { transaction: boolean } };

async function loadMigration(target: string, name: string): Promise<MigrationModule> {
  const url = new URL(`${name}.js`, MIGRATIONS_DIR);
  let module: Partial<MigrationModule>;
  try {
    module = (await import(url.href)) as Partial<MigrationModule>;
  } catch (err) {
    throw new SecretStoreError(target, `cannot load migration ${name} from ${url.pathname}`, {
      hint: "dbwarden's migrations/ directory must sit next to its dist/ (or src/); reinstall dbwarden",
      cause: err,
    });
  }
  if (typeof module.up !== 'function' || typeof module.down !== 'function')
    throw new SecretStoreError(target, `migration ${name} does not export up and down functions`);
  return module as MigrationModule;
}

/** knex's view of the migrations: each wrapped to get the context, and to log what runs. */
function migrationSource(
  session: TargetSession,
  context: MigrationContext,
  log: (message: string) => void,
): Knex.MigrationSource<string> {
  const loaded = new Map<string, Promise<MigrationModule>>();
  const load = (name: string) => {
    let module = loaded.get(name);
    if (module === undefined) {
      module = loadMigration(session.name, name);
      loaded.set(name, module);
    }
    return module;
  };
  return {
    getMigrations: () => Promise.resolve([...MIGRATION_NAMES]),
    getMigrationName: (name) => name,
    async getMigration(name): Promise<KnexMigration> {
      const module = await load(name);
      const run = (direction: 'up' | 'down') => async (db: Knex) => {
        log(`target ${session.name}: migration ${name} ${direction}`);
        await module[direction](db, context);
      };
      return {
        up: run('up'),
        down: run('down'),
        config: { transaction: session.dialect.transactionalDdl && module.config?.transaction !== false },
      };
    },
  };
}

function migratorConfig(source: Knex.MigrationSource<string>): Knex.MigratorConfig {
  return { migrationSource: source, tableName: MIGRATIONS_TABLE };
}

/** Migration names applied on the target, in the order they ran; none when the table is missing. Writes nothing. */
export async function appliedMigrations(session: TargetSession): Promise<string[]> {
  return session.guard('read the applied migrations', async () => {
    if (!(await session.db.schema.hasTable(MIGRATIONS_TABLE))) return [];
    const rows = await session.dialect.select(
      session.db,
      selectAppliedMigrations(session.dialect.quoteIdent),
    );
    return rows.map((r) => String(r.name));
  });
}

/** Runs every pending migration; returns the names run. Needs the store lock. */
export async function migrateLatest(
  session: TargetSession,
  context: MigrationContext,
  log: (message: string) => void,
): Promise<string[]> {
  const config = migratorConfig(migrationSource(session, context, log));
  return migrating(session, 'run the pending migrations', async () => {
    await session.db.migrate.forceFreeMigrationsLock(config);
    const [, names] = (await session.db.migrate.latest(config)) as [number, string[]];
    return names;
  });
}

/** Reverts migrations, last first, until `to` is the last applied ('base': none). Needs the store lock. */
export async function migrateDownTo(
  session: TargetSession,
  context: MigrationContext,
  to: string,
  log: (message: string) => void,
): Promise<string[]> {
  const config = migratorConfig(migrationSource(session, context, log));
  const floor = to === 'base' ? -1 : MIGRATION_NAMES.indexOf(to);
  const reverted: string[] = [];
  for (;;) {
    const last = (await appliedMigrations(session)).at(-1);
    if (last !== undefined && !MIGRATION_NAMES.includes(last)) {
      throw new SecretStoreError(
        session.name,
        `the last store migration applied, ${last}, is not one this dbwarden knows`,
        {
          hint: 'a newer dbwarden upgraded it: downgrade with that version',
        },
      );
    }
    if (last === undefined && to === 'base') {
      await dropTracking(session);
      return reverted;
    }
    if (last === undefined || MIGRATION_NAMES.indexOf(last) <= floor) return reverted;
    await migrating(session, `revert migration ${last}`, async () => {
      await session.db.migrate.forceFreeMigrationsLock(config);
      await session.db.migrate.down(config);
    });
    reverted.push(last);
  }
}

/** At base, knex's two tracking tables go too: the database is left as it was before dbwarden. */
async function dropTracking(session: TargetSession): Promise<void> {
  await migrating(session, "drop knex's migration tables", async () => {
    await session.db.schema.dropTableIfExists(MIGRATIONS_TABLE);
    await session.db.schema.dropTableIfExists(`${MIGRATIONS_TABLE}_lock`);
  });
}

/** knex's own errors made typed: dbwarden's pass through, the database's become DatabaseError. */
async function migrating<T>(session: TargetSession, intent: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DbwardenError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (message.startsWith('The migration directory is corrupt')) {
      throw new SecretStoreError(
        session.name,
        `the database has store migrations this dbwarden does not know (${message.replace(/^.*missing: /, '')})`,
        { hint: 'a newer dbwarden upgraded it: run that version (or its downgrade) instead' },
      );
    }
    throw session.dialect.databaseError(err, `target ${session.name}: could not ${intent}`);
  }
}
