/**
 * The encrypted store's pending work, for `plan` and `upgrade --dry-run`: per
 * target the migrations upgrade would run, and per secrets table the rows it
 * would encrypt (plaintext) or re-encrypt (under a key id other than
 * masterKey.current), by key id. Read with the store's own status query:
 * no lock, nothing written, no key material needed.
 */
import type { Deployment } from '../policy/model.js';
import { secretsStatus, type StoreStatus } from '../secrets/store/index.js';
import { compareText } from '../util/compare.js';
import { storeTargets } from './secrets.js';

export interface TablePending {
  readonly table: string;
  /** As configured (undefined: the target's default schema). */
  readonly schema: string | undefined;
  /** Rows holding plaintext values: upgrade encrypts them under the current key. */
  readonly encrypt: number;
  /** Rows under another key id than the current one: upgrade re-encrypts them, per key id. */
  readonly reencrypt: readonly { readonly keyId: string; readonly rows: number }[];
  /** Rows whose key-id column does not say what their values do: upgrade rewrites them. */
  readonly repair: number;
}

export interface TargetStorePending {
  readonly target: string;
  /** Migrations not applied yet, in the order upgrade runs them. */
  readonly migrations: readonly string[];
  readonly tables: readonly TablePending[];
}

export interface StorePending {
  /** masterKey.current's id; undefined when the config names none (upgrade would refuse). */
  readonly currentKeyId: string | undefined;
  readonly targets: readonly TargetStorePending[];
  /** Nothing to run, encrypt or re-encrypt anywhere. */
  readonly upToDate: boolean;
}

/** The store's pending work on every target that holds secrets tables; undefined when the config lists none. */
export async function readStorePending(deployment: Deployment): Promise<StorePending | undefined> {
  const targets = storeTargets(deployment);
  if (targets.length === 0) return undefined;
  const status = await secretsStatus(deployment.config.secrets, targets, undefined);
  return storePendingOf(status, deployment.config.masterKey?.current.id);
}

/** Pure: what upgrade's secrets step would do, from the store's status. */
export function storePendingOf(status: StoreStatus, currentKeyId: string | undefined): StorePending {
  const targets = status.targets.map((t) => ({
    target: t.target,
    migrations: t.migrations.filter((m) => !m.applied).map((m) => m.name),
    tables: t.tables.map((table) => ({
      table: table.table,
      schema: table.schema,
      encrypt: table.plaintext,
      reencrypt: Object.entries(table.byKeyId)
        .filter(([keyId, rows]) => keyId !== currentKeyId && rows > 0)
        .sort(([a], [b]) => compareText(a, b))
        .map(([keyId, rows]) => ({ keyId, rows })),
      repair: table.mismatched,
    })),
  }));
  const upToDate = targets.every(
    (t) =>
      t.migrations.length === 0 &&
      t.tables.every((x) => x.encrypt === 0 && x.reencrypt.length === 0 && x.repair === 0),
  );
  return { currentKeyId, targets, upToDate };
}
