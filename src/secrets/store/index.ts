/**
 * The encrypted credential store's database half (docs/encryption.md): the
 * migrations of migrations/ and the re-encryption engine, on PostgreSQL and
 * MySQL/MariaDB, behind four calls the CLI makes:
 *
 * - upgradeSecrets: pending migrations, then every row not under the
 *   current key re-encrypted (rotation; rollback is the same call with the
 *   keys swapped);
 * - downgradeSecrets: migrations reverted down to a name, or to `base`;
 * - secretsStatus: migrations, rows per key id and in plaintext, retireable keys;
 * - verifySecrets: every value (or a sample) decrypted in place.
 *
 * Before anything is written on any target: every target's store lock is
 * held, its secrets tables are checked, and one row per key id present is
 * decrypted. Problems there are invalid input (exit 2), nothing written.
 */
import type { Knex } from 'knex';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../../dialects/lock-wait.js';
import type { LockOptions } from '../../dialects/dialect.js';
import { InvalidInputError } from '../../errors.js';
import type { SecretColumns } from '../../policy/model.js';
import type { MasterKeySet } from '../keys.js';
import { StoreCrypto } from './crypto.js';
import { SecretRowsError } from './errors.js';
import { appliedMigrations, type MigrationContext, migrateDownTo, migrateLatest } from './migrate.js';
import { checkDowngradeTo } from './migration-names.js';
import { FailureLog, type PassContext, RepairLog, runPhase } from './pass.js';
import { keyError, keyProblems } from './preflight.js';
import {
  addKeyColumns,
  assertRestorable,
  type RecordedTable,
  recordedTables,
  removeKeyColumns,
  schemaError,
  tableProblems,
} from './schema.js';
import { closeSessions, openSessions, type TargetSession } from './session.js';
import { type SecretTable, tableLabel, tablesFor } from './tables.js';
import type { StoreOptions, StorePhase, StoreTarget, TargetDowngrade, TargetUpgrade } from './types.js';

export { MIGRATION_NAMES } from './migrate.js';
export { checkDowngradeTo } from './migration-names.js';
export { secretsStatus } from './status.js';
export { explainKeyError } from './missing-key.js';
export { verifySecrets } from './verify.js';
export { SecretRowsError, SecretStoreError, ValuesDoNotFitError } from './errors.js';
export type {
  RepairedRow,
  SecretFailure,
  SecretFailureProblem,
  StoreOptions,
  StorePhase,
  StoreProgress,
  StoreStatus,
  StoreTarget,
  TableStatus,
  TargetDowngrade,
  TargetStatus,
  TargetUpgrade,
} from './types.js';

export const DEFAULT_BATCH_SIZE = 500;

/** One target, locked and checked, with what is to be done on it. */
interface PreparedTarget {
  readonly session: TargetSession;
  /** The secrets entries of this target's kind. */
  readonly tables: readonly SecretTable[];
  /** What 001_key_columns recorded here. */
  readonly recorded: readonly RecordedTable[];
}

/** Rows written per phase on one target, and rows skipped and retried. */
interface Counts {
  encrypt: number;
  reencrypt: number;
  decrypt: number;
  retried: number;
  /** Shared by the migrations' passes and the later ones: each repaired row named and counted once. */
  readonly repaired: RepairLog;
}

/**
 * Runs pending migrations on every target, then encrypts any plaintext row
 * and re-encrypts every row whose key id is not the current key.
 */
export async function upgradeSecrets(
  secrets: readonly SecretColumns[],
  keys: MasterKeySet,
  targets: readonly StoreTarget[],
  options: StoreOptions,
): Promise<TargetUpgrade[]> {
  // StoreCrypto holds nothing until its first batch: no close needed if the call below refuses.
  return upgradeSecretsWith(new StoreCrypto(keys, { threads: options.threads }), secrets, targets, options);
}

/**
 * What upgradeSecrets would refuse before writing anything (missing tables
 * and columns, entries that no longer match, key ids no configured key
 * opens), checked without the store lock and without writing: `upgrade`
 * runs it before it applies roles, so bad input exits 2 with nothing written.
 */
export async function checkSecrets(
  secrets: readonly SecretColumns[],
  keys: MasterKeySet,
  targets: readonly StoreTarget[],
): Promise<void> {
  const crypto = new StoreCrypto(keys);
  const sessions = await openSessions(targets, undefined);
  try {
    await prepare(sessions, secrets, crypto, 'upgrade');
  } finally {
    await crypto.close();
    await closeSessions(sessions);
  }
}

/**
 * upgradeSecrets with its crypto passed in (and closed here). Internal, for
 * the benchmark's database-cost baseline only (bench/reencrypt.ts): the same
 * pipeline (reads, batches, conditional updates) with a StoreCrypto whose
 * batches copy each value instead of encrypting it. Neither the CLI nor the
 * config can reach it, and it is not part of the package's API: the bench
 * imports it through src/internal.ts.
 */
export async function upgradeSecretsWith(
  crypto: StoreCrypto,
  secrets: readonly SecretColumns[],
  targets: readonly StoreTarget[],
  options: StoreOptions,
): Promise<TargetUpgrade[]> {
  checkBatchSize(options.batchSize);
  const failures = new FailureLog();
  const sessions = await openSessions(targets, storeLock(options));
  try {
    const plans = await prepare(sessions, secrets, crypto, 'upgrade');
    const results: TargetUpgrade[] = [];
    for (const plan of plans) results.push(await upgradeTarget(plan, crypto, failures, options));
    if (failures.count > 0)
      throw new SecretRowsError('encrypted or re-encrypted', failures.failures, failures.count);
    return results;
  } finally {
    await crypto.close();
    await closeSessions(sessions);
  }
}

/** Reverts migrations on every target until `to` is the last applied (`base`: none, values back to plaintext). */
export async function downgradeSecrets(
  secrets: readonly SecretColumns[],
  keys: MasterKeySet,
  targets: readonly StoreTarget[],
  to: string,
  options: StoreOptions,
): Promise<TargetDowngrade[]> {
  checkDowngradeTo(to);
  checkBatchSize(options.batchSize);
  const crypto = new StoreCrypto(keys, { threads: options.threads });
  const failures = new FailureLog();
  const sessions = await openSessions(targets, storeLock(options));
  try {
    const plans = await prepare(sessions, secrets, crypto, 'downgrade');
    const results: TargetDowngrade[] = [];
    for (const plan of plans) {
      const context = migrationContext(plan, { crypto, failures, options }, newCounts());
      const reverted = await migrateDownTo(plan.session, context, to, options.log);
      results.push({ target: plan.session.name, migrationsReverted: reverted });
    }
    return results;
  } finally {
    await crypto.close();
    await closeSessions(sessions);
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidInputError(`batch size ${batchSize}: must be a positive integer`, {
      hint: `the default is ${DEFAULT_BATCH_SIZE}`,
    });
}

/**
 * Every target checked before anything is written anywhere: the secrets
 * tables (upgrade: as configured; downgrade: as recorded), then the keys of
 * the data already encrypted.
 */
async function prepare(
  sessions: readonly TargetSession[],
  secrets: readonly SecretColumns[],
  crypto: StoreCrypto,
  command: 'upgrade' | 'downgrade',
): Promise<PreparedTarget[]> {
  const plans: PreparedTarget[] = [];
  const problems: string[] = [];
  for (const session of sessions) {
    const tables = tablesFor(secrets, session.target, await session.defaultSchema());
    const recorded = await session.guard('read the recorded secret columns', () =>
      recordedTables(session.db, session),
    );
    if (command === 'upgrade') problems.push(...(await tableProblems(session, tables, recorded)));
    plans.push({ session, tables, recorded });
  }
  if (problems.length > 0) throw schemaError(problems);
  const keys: string[] = [];
  for (const plan of plans) {
    const encrypted = command === 'upgrade' ? plan.tables : plan.recorded;
    keys.push(...(await keyProblems(plan.session, encrypted, crypto)));
  }
  if (keys.length > 0) throw keyError(keys);
  return plans;
}

async function upgradeTarget(
  plan: PreparedTarget,
  crypto: StoreCrypto,
  failures: FailureLog,
  options: StoreOptions,
): Promise<TargetUpgrade> {
  const { session } = plan;
  const counts = newCounts();
  const context = migrationContext(plan, { crypto, failures, options }, counts);
  if ((await appliedMigrations(session)).includes('001_key_columns')) {
    // 001 ran before: a secrets entry added since gets its key columns here, and a table a killed
    // downgrade left halfway gets them back, before 002 or the passes read them. A no-op otherwise.
    await withDdlTransaction(session, async (db) => {
      for (const table of plan.tables) await addKeyColumns(db, session, table);
    });
  }
  const migrationsRun = await migrateLatest(session, context, options.log);
  const pass = passContext({ session, crypto, failures, repaired: counts.repaired }, options);
  for (const table of plan.tables) await phase(pass, table, 'encrypt', counts);
  for (const table of plan.tables) await phase(pass, table, 'reencrypt', counts);
  return {
    target: session.name,
    migrationsRun,
    rowsEncrypted: counts.encrypt,
    rowsReencrypted: counts.reencrypt,
    rowsRetried: counts.retried,
    rowsRepaired: counts.repaired.count,
    repairedRows: counts.repaired.rows,
  };
}

function newCounts(): Counts {
  return { encrypt: 0, reencrypt: 0, decrypt: 0, retried: 0, repaired: new RepairLog() };
}

function passContext(
  {
    session,
    crypto,
    failures,
    repaired,
  }: {
    readonly session: TargetSession;
    readonly crypto: StoreCrypto;
    readonly failures: FailureLog;
    readonly repaired: RepairLog;
  },
  options: StoreOptions,
): PassContext {
  return {
    session,
    crypto,
    batchSize: options.batchSize,
    progress: options.progress,
    failures,
    log: options.log,
    repaired,
  };
}

async function phase(
  pass: PassContext,
  table: SecretTable,
  which: StorePhase,
  counts: Counts,
): Promise<void> {
  const result = await runPhase(pass, table, which);
  counts[which] += result.written;
  counts.retried += result.retried;
  if (result.written > 0 || result.retried > 0) {
    const retried = result.retried > 0 ? ` (${result.retried} changed meanwhile, retried)` : '';
    pass.log(`target ${pass.session.name}: ${tableLabel(table)}: ${which} ${result.written} rows${retried}`);
  }
}

/** On PostgreSQL DDL in one transaction; on MySQL each statement commits (and every step is idempotent). */
async function withDdlTransaction(session: TargetSession, fn: (db: Knex) => Promise<void>): Promise<void> {
  await session.guard('add the key columns', () =>
    session.dialect.transactionalDdl ? session.db.transaction(fn) : fn(session.db),
  );
}

/**
 * What the migrations of migrations/ get as `store`. A migration whose rows
 * failed stops there (it is not recorded as applied), naming the rows.
 */
function migrationContext(
  plan: PreparedTarget,
  run: { readonly crypto: StoreCrypto; readonly failures: FailureLog; readonly options: StoreOptions },
  counts: Counts,
): MigrationContext {
  const { crypto, failures, options } = run;
  const { session } = plan;
  const pass = passContext({ session, crypto, failures, repaired: counts.repaired }, options);
  const all = async (which: StorePhase, action: string, table: SecretTable) => {
    const before = failures.count;
    await phase(pass, table, which, counts);
    if (failures.count > before) throw new SecretRowsError(action, failures.failures, failures.count);
  };
  return {
    target: session.name,
    tables: plan.tables,
    recordedTables: (db) => recordedTables(db, session),
    addKeyColumns: (db, table) => addKeyColumns(db, session, table),
    assertRestorable: (db, table) => assertRestorable(db, session, table),
    removeKeyColumns: (db, table) => removeKeyColumns(db, session, table),
    encrypt: (table) => all('encrypt', 'encrypted', table),
    decrypt: (table) => all('decrypt', 'decrypted', table),
  };
}

/** The store lock's wait, and where to say who holds it while waiting (the run's log: stderr). */
function storeLock(options: StoreOptions): LockOptions {
  return { waitSeconds: options.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, notify: options.log };
}
