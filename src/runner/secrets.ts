/**
 * `upgrade`, `downgrade`, `status` and `verify --secrets`: the deployment's
 * targets and master keys handed to the encrypted store (src/secrets/store/).
 * Key material is loaded before any connection, so bad keys exit 2 with
 * nothing written.
 */
import { InvalidInputError } from '../errors.js';
import type { Deployment } from '../policy/model.js';
import { loadMasterKeys, type MasterKeySet } from '../secrets/keys.js';
import {
  downgradeSecrets,
  MIGRATION_NAMES,
  type SecretFailure,
  secretsStatus,
  type StoreOptions,
  type StoreTarget,
  type TargetUpgrade,
  upgradeSecrets,
  verifySecrets,
} from '../secrets/store/index.js';
import { compareText } from '../util/compare.js';
import { type ApplyOptions, type ApplyResult, runApply } from './apply.js';
import { resolveTarget } from './targets.js';

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
  return loadMasterKeys(config, env);
}

export interface UpgradeResult {
  readonly apply: ApplyResult;
  readonly secrets: readonly TargetUpgrade[];
}

/**
 * Roles and grants first (apply), then the store: pending migrations and
 * re-encryption of every row not under the current key. Keys are loaded before
 * apply connects anywhere.
 */
export async function runUpgrade(
  deployment: Deployment,
  options: ApplyOptions & StoreOptions & { readonly env: Environment },
): Promise<UpgradeResult> {
  const targets = storeTargets(deployment);
  const keys = targets.length > 0 ? await secretKeys(deployment, options.env) : undefined;
  const apply = await runApply(deployment, options);
  const secrets = keys ? await upgradeSecrets(deployment.config.secrets, keys, targets, options) : [];
  return { apply, secrets };
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
