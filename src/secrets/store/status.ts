/**
 * `status`: per target, the migrations applied, and per secrets table the
 * rows under each key and in plaintext, counted by what each value's own
 * message header says (read by the server, nothing decrypted), and the
 * rows whose key-id column says otherwise; which previous keys no value is
 * under. Reads only: no lock, no migration table created.
 */
import type { SecretColumns } from '../../policy/model.js';
import type { MasterKeySet } from '../keys.js';
import { appliedMigrations, MIGRATION_NAMES } from './migrate.js';
import type { EvidenceGroup } from './preflight.js';
import { evidenceGroups } from './preflight.js';
import { columnAgrees } from '../evidence.js';
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
    for (const session of sessions) statuses.push(await targetStatus(session, secrets, keys));
    const used = new Set(statuses.flatMap((t) => t.tables.flatMap((table) => Object.keys(table.byKeyId))));
    const configured = keys === undefined ? [] : [keys.current, ...keys.previous].map((k) => k.id);
    const previous = keys === undefined ? [] : keys.previous.map((k) => k.id);
    return {
      targets: statuses,
      unusedPreviousKeys: previous.filter((id) => !used.has(id)),
      previousKeysInUse: previous.filter((id) => used.has(id)),
      unknownKeyIds: keys === undefined ? [] : [...used].filter((id) => !configured.includes(id)).sort(),
    };
  } finally {
    await closeSessions(sessions);
  }
}

async function targetStatus(
  session: TargetSession,
  secrets: readonly SecretColumns[],
  keys: MasterKeySet | undefined,
): Promise<TargetStatus> {
  const applied = new Set(await appliedMigrations(session));
  const tables = tablesFor(secrets, session.target, await session.defaultSchema());
  const result: TableStatus[] = [];
  for (const table of tables) result.push(await tableStatus(session, table, keys));
  return {
    target: session.name,
    migrations: MIGRATION_NAMES.map((name) => ({ name, applied: applied.has(name) })),
    tables: result,
  };
}

/** Mismatched rows named per table in status (the first of each kind of mismatch). */
const EXAMPLES_KEPT = 5;

async function tableStatus(
  session: TargetSession,
  table: SecretTable,
  keys: MasterKeySet | undefined,
): Promise<TableStatus> {
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
    const plaintext = Number(row?.with_values ?? 0);
    return { ...base, ...emptyCounts(), rows: Number(row?.n ?? 0), plaintext };
  }
  return { ...base, ...countGroups(await evidenceGroups(session, table, keys)) };
}

function emptyCounts(): Omit<TableStatus, 'table' | 'schema'> {
  return { rows: 0, plaintext: 0, byKeyId: {}, unreadable: 0, mismatched: 0, mismatchedRows: [] };
}

/** The groups of one table summed: by what the values say; rows whose key-id column says otherwise, named. */
function countGroups(groups: readonly EvidenceGroup[]): Omit<TableStatus, 'table' | 'schema'> {
  const counts = { ...emptyCounts(), byKeyId: {} as Record<string, number>, mismatchedRows: [] as string[] };
  for (const group of groups) {
    const { evidence, rows } = group;
    counts.rows += rows;
    if (evidence.kind === 'plaintext' || (evidence.kind === 'mixed' && evidence.plaintext))
      counts.plaintext += rows;
    if (evidence.kind === 'unreadable') counts.unreadable += rows;
    const ids = evidence.kind === 'key' ? [evidence.keyId] : 'keyIds' in evidence ? evidence.keyIds : [];
    for (const id of ids) counts.byKeyId[id] = (counts.byKeyId[id] ?? 0) + rows;
    if (!columnAgrees(group.keyIdColumn, evidence)) {
      counts.mismatched += rows;
      if (group.firstPrimaryKey !== null && counts.mismatchedRows.length < EXAMPLES_KEPT)
        counts.mismatchedRows.push(String(group.firstPrimaryKey));
    }
  }
  return counts;
}
