/**
 * A master key that could not be loaded, said honestly: when stored values
 * are under its id, the key that encrypted them is missing and must be
 * restored; generating a new key under that id would leave every one of
 * them unreadable, so that is never suggested then (issue 15.2). Counted by
 * the values' own headers, read-only, no lock.
 */
import type { SecretColumns } from '../../policy/model.js';
import { countUnder } from '../../dialects/store-sql.js';
import { InvalidInputError } from '../../errors.js';
import type { MasterKeyError } from '../keys.js';
import { rawKeyPattern } from '../evidence.js';
import { hasKeyColumn, keyCheck } from './preflight.js';
import { closeSessions, openSessions } from './session.js';
import { tableLabel, tablesFor } from './tables.js';
import type { StoreTarget } from './types.js';

interface KeyUseCount {
  readonly where: string;
  readonly rows: number;
}

/** The error to report for `error`: unchanged when no value is under its key id. */
export async function explainKeyError(
  secrets: readonly SecretColumns[],
  targets: readonly StoreTarget[],
  error: MasterKeyError,
): Promise<InvalidInputError> {
  let uses: KeyUseCount[];
  try {
    uses = await countKeyUses(secrets, targets, error.keyId);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new InvalidInputError(error.problem, {
      hint:
        `if any stored value is under "${error.keyId}", restore that key from backup: a newly generated key would not open them; ` +
        `generate a new key only for an id no value is under (could not check the databases: ${reason})`,
    });
  }
  if (uses.length === 0) return error;
  const total = uses.reduce((n, u) => n + u.rows, 0);
  const list = uses.map((u) => `${u.where}: ${u.rows} ${u.rows === 1 ? 'row' : 'rows'}`).join('; ');
  return new InvalidInputError(
    `${error.problem}. The key that encrypted ${total} stored ${total === 1 ? 'row' : 'rows'} (${list}) is missing`,
    {
      hint:
        `restore master key "${error.keyId}" from backup (the same key material) where the config points; ` +
        `do not generate a new key under this id: it would not open these values. Nothing was written`,
    },
  );
}

/** Per target and table, the rows with a value under `keyId` (raw AES key name), by their headers. */
async function countKeyUses(
  secrets: readonly SecretColumns[],
  targets: readonly StoreTarget[],
  keyId: string,
): Promise<KeyUseCount[]> {
  // Only the id matters for the pattern: the key's bytes are what is missing.
  const pattern = rawKeyPattern(keyId);
  const sessions = await openSessions(targets, undefined);
  try {
    const uses: KeyUseCount[] = [];
    for (const session of sessions) {
      for (const table of tablesFor(secrets, session.target, await session.defaultSchema())) {
        if (!(await hasKeyColumn(session, table))) continue;
        const [row] = await session.select(
          `count the rows of ${tableLabel(table)} under key "${keyId}"`,
          countUnder(session.dialect.quoteIdent, table, keyCheck(session, table, pattern)),
        );
        const rows = Number(row?.n ?? 0);
        if (rows > 0) uses.push({ where: `target ${session.name}, table ${tableLabel(table)}`, rows });
      }
    }
    return uses;
  } finally {
    await closeSessions(sessions);
  }
}
