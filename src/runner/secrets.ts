/**
 * `downgrade`, `status` and `verify --secrets`: the deployment's targets and
 * master keys handed to the encrypted store (src/secrets/store/); `upgrade`
 * (upgrade.ts) uses the same two.
 * Key material is loaded before any connection, so bad keys exit 2 with
 * nothing written.
 */
import { plural } from '../util/printable.js';
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import { desiredState } from '../plan/desired.js';
import type { Deployment } from '../policy/model.js';
import { loadMasterKeys, MasterKeyError, type MasterKeySet } from '../secrets/keys.js';
import {
  checkDowngradeTo,
  downgradeSecrets,
  explainKeyError,
  MIGRATION_NAMES,
  type SecretFailure,
  secretsStatus,
  type StoreOptions,
  type StoreTarget,
  verifySecrets,
} from '../secrets/store/index.js';
import { compareText } from '../util/compare.js';
import type { Environment } from '../util/environment.js';
import { type ApplyResult, runApply } from './apply.js';
import { knownCluster } from '../dialects/dialect.js';
import { closeTargets, openTargets, resolveTarget } from './targets.js';

/** The targets that hold secrets tables (their kind is named by a `secrets:` entry), in name order. */
export function storeTargets(deployment: Deployment): StoreTarget[] {
  const kinds = new Set(deployment.config.secrets.map((s) => s.kind));
  return deployment.config.targets
    .filter((t) => kinds.has(t.kind))
    .sort((a, b) => compareText(a.name, b.name))
    .map((t) => ({ name: t.name, kind: t.kind, ...resolveTarget(t) }));
}

/** The master keys; secrets without a masterKey section is invalid input. */
export async function secretKeys(deployment: Deployment, env: Environment): Promise<MasterKeySet> {
  const config = deployment.config.masterKey;
  if (!config) {
    throw new InvalidInputError('the config lists secrets but no masterKey to encrypt them with', {
      hint: 'add masterKey: { current: { id: k1, file: /run/secrets/master-key-k1 } } (docs/config.md)',
    });
  }
  try {
    return await loadMasterKeys(config, env);
  } catch (error) {
    // A key that values are under must be restored, never generated anew (issue 15.2).
    if (error instanceof MasterKeyError)
      throw await explainKeyError(deployment.config.secrets, storeTargets(deployment), error);
    throw error;
  }
}

/** The one `--to` check (store/migration-names.ts), for the CLI's confirmation step. */
export { checkDowngradeTo };

/**
 * What `downgrade` would destroy, in words, from the config alone (nothing is
 * read from a server): the confirmation names it. Empty: nothing to confirm
 * (`--to` the newest migration reverts nothing, or no secrets are configured,
 * and no --drop-roles).
 */
export function downgradeLosses(
  deployment: Deployment,
  options: { readonly to: string; readonly dropRoles: boolean },
): string[] {
  const losses: string[] = [];
  const { secrets, targets, app } = deployment.config;
  // Every migration after `to` is reverted; reverting 002_encrypt decrypts every value.
  const reverted =
    options.to === 'base' ? MIGRATION_NAMES : MIGRATION_NAMES.slice(MIGRATION_NAMES.indexOf(options.to) + 1);
  if (reverted.length > 0 && secrets.length > 0) {
    const tables = secrets
      .map((s) => `${s.kind}:${s.schema ? `${s.schema}.` : ''}${s.table} (${s.columns.join(', ')})`)
      .join(', ');
    losses.push(
      options.to === 'base'
        ? `decrypt every stored value of ${tables} back to plaintext, then drop the key-id and blind-index columns`
        : `decrypt every stored value of ${tables} back to plaintext`,
    );
  }
  if (options.dropRoles) {
    const logins = desiredState(deployment).components.map((c) => c.login);
    losses.push(
      `drop every role and login dbwarden manages for app ${app} (${logins.length > 0 ? `among them the logins ${logins.join(', ')}` : 'the policies name no login'}) on ${plural(targets.length, 'target')}, and remove their credentials`,
    );
  }
  return losses;
}

export async function runDowngrade(
  deployment: Deployment,
  to: string,
  options: StoreOptions & { readonly env: Environment },
) {
  checkDowngradeTo(to);
  const targets = storeTargets(deployment);
  if (targets.length === 0) return [];
  const keys = await secretKeys(deployment, options.env);
  return downgradeSecrets(deployment.config.secrets, keys, targets, to, options);
}

/** Keys are optional for status: without them, rows are counted by key id only. */
export async function runStatus(deployment: Deployment, env: Environment) {
  const targets = storeTargets(deployment);
  const keys =
    deployment.config.masterKey && targets.length > 0 ? await secretKeys(deployment, env) : undefined;
  return secretsStatus(deployment.config.secrets, targets, keys);
}

export async function runVerifySecrets(
  deployment: Deployment,
  options: StoreOptions & { readonly env: Environment; readonly sample: number | undefined },
): Promise<SecretFailure[]> {
  const targets = storeTargets(deployment);
  if (targets.length === 0) return [];
  const keys = await secretKeys(deployment, options.env);
  return verifySecrets(deployment.config.secrets, keys, targets, {
    ...options,
    ...(options.sample === undefined ? {} : { sample: options.sample }),
  });
}

/** Logins of the app still connected somewhere: `downgrade --drop-roles` stops instead of pulling them away. */
export class LoginsInUseError extends DbwardenError {
  override readonly name = 'LoginsInUseError';
  readonly exitCode = ExitCode.runtimeFailure;
}

/**
 * `downgrade --drop-roles` refuses while any of the app's logins has a session
 * open, unless `force`: checked before the migrations are reverted, so a
 * refusal leaves everything as it was, and again just before the drop.
 */
export async function refuseOpenSessions(
  deployment: Deployment,
  options: { readonly force: boolean; readonly log: (line: string) => void },
): Promise<void> {
  const logins = desiredState(deployment).components.map((c) => c.login);
  const busy = await sessionsOf(deployment, logins);
  if (busy.length === 0) return;
  const list = busy
    .map((b) => `${b.login} (${plural(b.sessions, 'session')} on ${serverLabel(b.targets)})`)
    .join(', ');
  if (!options.force) {
    throw new LoginsInUseError(`logins still connected: ${list}; nothing was changed`, {
      hint: 'stop the services that use them and run downgrade --drop-roles again, or add --force',
    });
  }
  options.log(`downgrade: --force: dropping logins that are still connected: ${list}`);
}

/**
 * `downgrade --drop-roles`, after the migrations were reverted: apply with no
 * policies, so every role and login dbwarden manages for the app is revoked
 * and dropped, and their credential files removed. A dropped login's open
 * sessions (--force) run on until they disconnect, but cannot log in again.
 */
export async function runDropRoles(
  deployment: Deployment,
  options: {
    readonly force: boolean;
    readonly lockWaitSeconds: number;
    readonly log: (line: string) => void;
    readonly detail?: ((line: string) => void) | undefined;
  },
): Promise<ApplyResult> {
  await refuseOpenSessions(deployment, options);
  return runApply(
    { config: deployment.config, policies: [] },
    {
      components: undefined,
      rotatePasswords: false,
      lockWaitSeconds: options.lockWaitSeconds,
      log: options.log,
      detail: options.detail,
    },
  );
}

/** The targets that share one server, as the sessions are counted once for all of them. */
function serverLabel(targets: readonly string[]): string {
  return targets.length === 1 ? `${targets[0]}` : `the server of ${targets.join(', ')}`;
}

/**
 * Targets grouped by server: every database of a server sees the same
 * sessions (pg_stat_activity, PROCESSLIST), so each server is asked once and
 * a session is counted once. A server that could not say who it is
 * (knownCluster false) is not merged with anything: counting a session twice
 * is better than missing one.
 */
export function groupByServer<T extends { readonly name: string; readonly cluster: string }>(
  targets: readonly T[],
): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of targets) {
    const key = knownCluster(t.cluster) ? t.cluster : `\u0000${t.name}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()];
}

async function sessionsOf(deployment: Deployment, logins: readonly string[]) {
  const targets = await openTargets(deployment.config.targets);
  try {
    const found: { targets: string[]; login: string; sessions: number }[] = [];
    const servers = groupByServer(
      targets.map((t) => ({ name: t.target.name, cluster: t.identity.cluster, open: t })),
    );
    for (const server of servers) {
      const [first] = server;
      if (!first) continue;
      for (const [login, sessions] of await first.open.session.openSessions(logins))
        found.push({ targets: server.map((t) => t.name), login, sessions });
    }
    return found;
  } finally {
    await closeTargets(targets);
  }
}
