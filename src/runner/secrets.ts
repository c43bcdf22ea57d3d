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
import { type ApplyResult, runApply } from './apply.js';
import { closeTargets, openTargets, resolveTarget } from './targets.js';

type Environment = Readonly<Record<string, string | undefined>>;

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

export async function runDowngrade(
  deployment: Deployment,
  to: string,
  options: StoreOptions & { readonly env: Environment },
) {
  if (to !== 'base' && !MIGRATION_NAMES.includes(to)) {
    throw new InvalidInputError(`--to ${to}: no such migration`, {
      hint: `use base or one of: ${MIGRATION_NAMES.join(', ')}`,
    });
  }
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
  const list = busy.map((b) => `${b.login} (${plural(b.sessions, 'session')} on ${b.target})`).join(', ');
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
    },
  );
}

async function sessionsOf(deployment: Deployment, logins: readonly string[]) {
  const targets = await openTargets(deployment.config.targets);
  try {
    const found: { target: string; login: string; sessions: number }[] = [];
    for (const t of targets) {
      for (const [login, sessions] of await t.session.openSessions(logins))
        found.push({ target: t.target.name, login, sessions });
    }
    return found;
  } finally {
    await closeTargets(targets);
  }
}
