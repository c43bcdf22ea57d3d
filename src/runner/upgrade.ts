/**
 * `upgrade`, the deploy-time job, as named steps:
 *
 *   check    master keys read, then every secrets table and the key ids in
 *            its rows checked, before anything is written (bad input: exit 2)
 *   apply    roles, logins, grants, credentials (runApply: its run lock, one
 *            locked transaction per target)
 *   secrets  per target with secrets tables: pending migrations, then every
 *            row re-encrypted under the current key (the store's own lock)
 *   verify   every component logs in and its privileges are compared with
 *            its policy; per target a sample of stored values is decrypted
 *            where it is
 *
 * Every step is idempotent and every write either commits whole or is
 * finished by the next run (apply's pending passwords, the store's
 * conditional batches), so a failure anywhere is fixed by running upgrade
 * again. A failure says which step on which target, as UpgradeStepError.
 */
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import type { Deployment } from '../policy/model.js';
import type { MasterKeySet } from '../secrets/keys.js';
import {
  checkSecrets,
  type RepairedRow,
  type SecretFailure,
  type StoreOptions,
  type StoreTarget,
  type TargetUpgrade,
  upgradeSecrets,
  verifySecrets,
} from '../secrets/store/index.js';
import { type ApplyOptions, type ApplyResult, type PlanResult, runApply, runPlan } from './apply.js';
import { secretKeys, storeTargets } from './secrets.js';
import { readStorePending, type StorePending } from './store-pending.js';
import { runVerify, type TargetVerification, type VerifyResult } from './verify.js';
import type { Environment } from '../util/environment.js';

export type UpgradeStep = 'check' | 'apply' | 'secrets' | 'verify';

export { DEFAULT_VERIFY_SAMPLE } from './defaults.js';

/** Why running upgrade again is safe after a failure in each step. */
const RERUN_SAFE: Readonly<Record<UpgradeStep, string>> = {
  check: 'nothing was written; fix what it names and run upgrade again',
  apply:
    'each target commits whole or not at all (MySQL: statement by statement, every prefix safe); run upgrade again to finish',
  secrets:
    'every batch commits on its own and only rows still holding what was read are written; run upgrade again to finish',
  verify: 'everything before it is done; run upgrade again after fixing what verify found',
};

function stepPrefix(step: UpgradeStep, target: string | undefined): string {
  return `upgrade stopped at step "${step}"${target === undefined ? '' : ` on target ${target}`}`;
}

/** A step of upgrade failed: which one, on which target, and the cause's own message and exit code. */
export class UpgradeStepError extends DbwardenError {
  override readonly name = 'UpgradeStepError';
  readonly exitCode: ExitCode;
  readonly step: UpgradeStep;
  readonly target: string | undefined;

  constructor(step: UpgradeStep, target: string | undefined, cause: unknown) {
    const known = cause instanceof DbwardenError ? cause : undefined;
    const what =
      known?.message ??
      `internal error: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : 'unknown error'}`;
    super(`${stepPrefix(step, target)}: ${what}`, {
      hint: `${known?.hint ? `${known.hint}. ` : ''}A rerun is safe: ${RERUN_SAFE[step]}`,
      cause,
    });
    this.exitCode = known?.exitCode ?? ExitCode.runtimeFailure;
    this.step = step;
    this.target = target;
  }
}

/** One target's part of the run. */
export interface TargetSummary {
  readonly target: string;
  readonly roleChanges: number;
  readonly migrationsRun: readonly string[];
  readonly rowsEncrypted: number;
  readonly rowsReencrypted: number;
  readonly rowsRetried: number;
  /** Rows whose key-id column did not match their values, written again (named on the log). */
  readonly rowsRepaired: number;
  /** The first of them by table and primary key, never a value (the first 20: src/secrets/store/pass.ts). */
  readonly repairedRows: readonly RepairedRow[];
  readonly verify: {
    readonly ok: boolean;
    /** Components whose privileges differ from their policy on this target, or that could not log in. */
    readonly privileges: readonly (TargetVerification & { readonly component: string })[];
    /** Rows whose stored values were decrypted in place (a sample per table), and the values that failed. */
    readonly rowsChecked: number;
    readonly secretFailures: readonly SecretFailure[];
  };
  /** The secrets and verify steps on this target; apply runs every target in one locked run, timed in steps. */
  readonly durationMs: number;
}

export interface UpgradeSummary {
  readonly ok: boolean;
  readonly app: string;
  /** Nothing changed anywhere: a rerun of a finished upgrade. */
  readonly upToDate: boolean;
  readonly durationMs: number;
  readonly steps: Readonly<Partial<Record<UpgradeStep, { readonly durationMs: number }>>>;
  readonly apply: ApplyResult;
  readonly privileges: VerifyResult;
  /** Every configured target, in config order. */
  readonly targets: readonly TargetSummary[];
  /** The targets that hold secrets tables. */
  readonly secretTargets: readonly string[];
}

export type UpgradeOptions = ApplyOptions & StoreOptions & UpgradeOnlyOptions;

interface UpgradeOnlyOptions {
  readonly env: Environment;
  /** Rows per secrets table decrypted in place by the verify step. */
  readonly verifySample: number;
}

/** Runs a step, timed, with its failures named after it. */
async function step<T>(
  name: UpgradeStep,
  target: string | undefined,
  times: Record<string, { durationMs: number }>,
  fn: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } catch (err) {
    // Bad input keeps its class and its file:line:col diagnostics (exit 2), with the step named.
    if (err instanceof InvalidInputError) {
      throw new InvalidInputError(`${stepPrefix(name, target)}: ${err.message}`, {
        ...(err.hint === undefined ? {} : { hint: err.hint }),
        diagnostics: err.diagnostics,
      });
    }
    throw new UpgradeStepError(name, target, err);
  } finally {
    const spent = performance.now() - start;
    times[name] = { durationMs: (times[name]?.durationMs ?? 0) + spent };
  }
}

export async function runUpgrade(deployment: Deployment, options: UpgradeOptions): Promise<UpgradeSummary> {
  const started = performance.now();
  const times: Record<string, { durationMs: number }> = {};
  const stores = storeTargets(deployment);
  const keys =
    stores.length > 0
      ? await step('check', undefined, times, async () => {
          const keys = await secretKeys(deployment, options.env);
          await checkSecrets(deployment.config.secrets, keys, stores);
          return keys;
        })
      : undefined;
  const apply = await step('apply', undefined, times, () => runApply(deployment, options));
  const secrets = new Map<string, { result: TargetUpgrade; ms: number }>();
  if (keys !== undefined) {
    for (const target of stores) {
      const start = performance.now();
      const [result] = await step('secrets', target.name, times, () =>
        upgradeSecrets(deployment.config.secrets, keys, [target], options),
      );
      if (result !== undefined) secrets.set(target.name, { result, ms: performance.now() - start });
    }
  }
  const privileges = await step('verify', undefined, times, () => runVerify(deployment, options.log));
  const checked = new Map<string, { checked: number; failures: SecretFailure[]; ms: number }>();
  if (keys !== undefined) {
    for (const target of stores) {
      const start = performance.now();
      const sample = await step('verify', target.name, times, () =>
        verifySample(deployment, keys, target, options),
      );
      checked.set(target.name, { ...sample, ms: performance.now() - start });
    }
  }
  const targets = deployment.config.targets.map((t) =>
    targetSummary(t.name, { apply, privileges, store: secrets.get(t.name), verified: checked.get(t.name) }),
  );
  const upToDate =
    apply.credentialsWritten.length + apply.credentialsRemoved.length === 0 &&
    targets.every((t) => t.roleChanges + t.migrationsRun.length + t.rowsEncrypted + t.rowsReencrypted === 0);
  return {
    ok: privileges.ok && targets.every((t) => t.verify.ok),
    app: apply.app,
    upToDate,
    durationMs: performance.now() - started,
    steps: times,
    apply,
    privileges,
    targets,
    secretTargets: stores.map((t) => t.name),
  };
}

/** `upgrade --dry-run`: the role changes of the apply step and the secrets step's pending work. */
export interface UpgradeDryRun {
  readonly plan: PlanResult;
  /** undefined: the config lists no secrets. */
  readonly store: StorePending | undefined;
}

/**
 * What upgrade would do, changing nothing: its check step as it runs it
 * (master keys read, secrets tables and the key ids in them checked, one row
 * per key id decrypted: bad input exits 2 as upgrade would), then apply's
 * plan and the store's pending migrations and rows. Reads only: no lock is
 * taken and nothing is created, not even dbwarden's own tables.
 */
export async function runUpgradeDryRun(
  deployment: Deployment,
  options: { readonly env: Environment; readonly log: (message: string) => void },
): Promise<UpgradeDryRun> {
  const times: Record<string, { durationMs: number }> = {};
  const stores = storeTargets(deployment);
  if (stores.length > 0) {
    await step('check', undefined, times, async () => {
      const keys = await secretKeys(deployment, options.env);
      await checkSecrets(deployment.config.secrets, keys, stores);
    });
  }
  const plan = await step('apply', undefined, times, () =>
    runPlan(deployment, { components: undefined, rotatePasswords: false, log: options.log }),
  );
  const store = await step('secrets', undefined, times, () => readStorePending(deployment));
  return { plan, store };
}

/** What each step of one upgrade found; `store` and `verified` per target, undefined where the step did not run. */
interface UpgradeSteps {
  readonly apply: ApplyResult;
  readonly privileges: VerifyResult;
  readonly store: { result: TargetUpgrade; ms: number } | undefined;
  readonly verified: { checked: number; failures: SecretFailure[]; ms: number } | undefined;
}

function targetSummary(target: string, { apply, privileges, store, verified }: UpgradeSteps): TargetSummary {
  const problems = privilegeProblems(privileges, target);
  const failures = verified?.failures ?? [];
  return {
    target,
    roleChanges: apply.targets.find((p) => p.target === target)?.changes.length ?? 0,
    migrationsRun: store?.result.migrationsRun ?? [],
    rowsEncrypted: store?.result.rowsEncrypted ?? 0,
    rowsReencrypted: store?.result.rowsReencrypted ?? 0,
    rowsRetried: store?.result.rowsRetried ?? 0,
    rowsRepaired: store?.result.rowsRepaired ?? 0,
    repairedRows: store?.result.repairedRows ?? [],
    verify: {
      ok: problems.length === 0 && failures.length === 0,
      privileges: problems,
      rowsChecked: verified?.checked ?? 0,
      secretFailures: failures,
    },
    durationMs: (store?.ms ?? 0) + (verified?.ms ?? 0),
  };
}

/** A sample of each secrets table of one target decrypted where it is: how many rows, and which values failed. */
async function verifySample(
  deployment: Deployment,
  keys: MasterKeySet,
  target: StoreTarget,
  options: UpgradeOptions,
): Promise<{ checked: number; failures: SecretFailure[] }> {
  const rowsPerTable = new Map<string, number>();
  const failures = await verifySecrets(deployment.config.secrets, keys, [target], {
    ...options,
    sample: options.verifySample,
    progress: (p) => rowsPerTable.set(p.table, p.done),
  });
  return { checked: [...rowsPerTable.values()].reduce((a, b) => a + b, 0), failures };
}

/** The components whose privileges differ on one target, or that could not log in there. */
function privilegeProblems(result: VerifyResult, target: string) {
  return result.components.flatMap((c) =>
    c.targets
      .filter((t) => t.target === target && (t.error !== undefined || t.differences.length > 0))
      .map((t) => ({ component: c.component, ...t })),
  );
}
