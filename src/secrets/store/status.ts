/**
 * `status`: per target, the migrations applied, and per secrets table the
 * rows under each key id and in plaintext; which previous keys no row uses
 * any more. Reads only: no lock, no migration table created.
 */
import type { SecretColumns } from '../../policy/model.js';
import type { MasterKeySet } from '../keys.js';
import { appliedMigrations, MIGRATION_NAMES } from './migrate.js';
import { countByKeyId } from './preflight.js';
import { plainCounts } from '../../dialects/store-sql.js';
import { schemaError } from './schema.js';
import { closeSessions, openSessions, type TargetSession } from './session.js';
import { KEY_ID_COLUMN, type SecretTable, tableLabel, tablesFor } from './tables.js';
import type { StoreStatus, StoreTarget, TableStatus, TargetStatus } from './types.js';

export async function secretsStatus(
  secrets: readonly SecretColumns[],
  targets: readonly StoreTarget[],
  keys: MasterKeySet | undefined,
): Promise<StoreStatus> {
  const sessions = await openSessions(targets, undefined);
  try {
    const statuses: TargetStatus[] = [];
    for (const session of sessions) statuses.push(await targetStatus(session, secrets));
    const used = new Set(statuses.flatMap((t) => t.tables.flatMap((table) => Object.keys(table.byKeyId))));
    const configured = keys === undefined ? [] : [keys.current, ...keys.previous].map((k) => k.id);
    return {
      targets: statuses,
      retireable: keys === undefined ? [] : keys.previous.map((k) => k.id).filter((id) => !used.has(id)),
      unknownKeyIds: keys === undefined ? [] : [...used].filter((id) => !configured.includes(id)).sort(),
    };
  } finally {
    await closeSessions(sessions);
  }
}

async function targetStatus(
  session: TargetSession,
  secrets: readonly SecretColumns[],
): Promise<TargetStatus> {
  const applied = new Set(await appliedMigrations(session));
  const tables = tablesFor(secrets, session.target, await session.defaultSchema());
  const result: TableStatus[] = [];
  for (const table of tables) result.push(await tableStatus(session, table));
  return {
    target: session.name,
    migrations: MIGRATION_NAMES.map((name) => ({ name, applied: applied.has(name) })),
    tables: result,
  };
}

async function tableStatus(session: TargetSession, table: SecretTable): Promise<TableStatus> {
  const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
    session.dialect.readColumns(session.db, table),
  );
  if (facts === undefined)
    throw schemaError([`target ${session.name}: secrets table ${tableLabel(table)} does not exist`]);
  const base = { table: table.table, schema: table.configuredSchema };
  if (!facts.has(KEY_ID_COLUMN)) {
    const [row] = await session.select(
      `count the rows of ${tableLabel(table)}`,
      plainCounts(session.dialect.quoteIdent, table),
    );
    return { ...base, rows: Number(row?.n ?? 0), plaintext: Number(row?.with_values ?? 0), byKeyId: {} };
  }
  const counts = await countByKeyId(session, table);
  const byKeyId: Record<string, number> = {};
  for (const c of counts) if (c.keyId !== null) byKeyId[c.keyId] = c.rows;
  return {
    ...base,
    rows: counts.reduce((sum, c) => sum + c.rows, 0),
    plaintext: counts.find((c) => c.keyId === null)?.withValues ?? 0,
    byKeyId,
  };
}
