/**
 * `upgrade`, `downgrade` and `status`, and the `--secrets` half of `verify`:
 * output for people (text) and scripts (json). Counts, key ids and row ids
 * only: no value is ever printed.
 */
import { ExitCode } from '../errors.js';
import type { Deployment } from '../policy/model.js';
import type { SecretFailure, StoreStatus } from '../secrets/store/index.js';
import {
  checkDowngradeTo,
  downgradeLosses,
  refuseOpenSessions,
  runDowngrade,
  runDropRoles,
  runStatus,
  runVerifySecrets,
} from '../runner/secrets.js';
import { runUpgrade, type UpgradeSummary } from '../runner/upgrade.js';
import { runVerify } from '../runner/verify.js';
import { confirmDestruction } from './confirm.js';
import { loadOrFail, verifyText } from './database-commands.js';
import { type CliIo, plural, printJson } from './output.js';
import {
  groupSecretFailures,
  SECRETS_OK,
  secretFailureLines,
  verifySecretsJson,
  verifyWithSecretsText,
} from './secret-failures.js';
import { type ProgressReporter, progressReporter } from './progress.js';

interface SecretsCommandOptions {
  readonly config: string;
  readonly format: 'text' | 'json';
  readonly batchSize: number;
}

/** The reporter of each io while withProgress runs: log lines go through it, never across a bar. */
const activeReporters = new WeakMap<CliIo, ProgressReporter>();

const logTo = (io: CliIo) => (message: string) => {
  const reporter = activeReporters.get(io);
  if (reporter) reporter.log(`${message}\n`);
  else io.stderr(`${message}\n`);
};

/** Runs fn with a progress reporter that is stopped whatever happens. */
async function withProgress<T>(io: CliIo, fn: (update: ProgressReporter['update']) => Promise<T>) {
  const reporter = progressReporter({ stderr: io.stderr, tty: io.progressStream });
  activeReporters.set(io, reporter);
  try {
    return await fn(reporter.update);
  } finally {
    activeReporters.delete(io);
    reporter.stop();
  }
}

export async function upgradeCommand(
  options: SecretsCommandOptions & { readonly lockWaitSeconds: number; readonly verifySample: number },
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const summary = await withProgress(io, (progress) =>
    runUpgrade(deployment, {
      components: undefined,
      rotatePasswords: false,
      lockWaitSeconds: options.lockWaitSeconds,
      batchSize: options.batchSize,
      verifySample: options.verifySample,
      log: logTo(io),
      detail: io.detail,
      progress,
      env: io.env,
    }),
  );
  const exitCode = summary.ok ? ExitCode.ok : ExitCode.pendingOrMismatch;
  if (options.format === 'json') {
    printJson(upgradeJson(summary), io);
    return exitCode;
  }
  io.stdout(upgradeText(summary));
  return exitCode;
}

/** The one document `upgrade --format json` prints (docs/cli.md). */
function upgradeJson(summary: UpgradeSummary) {
  const { apply, privileges, targets } = summary;
  const roleChanges = targets.reduce((n, t) => n + t.roleChanges, 0);
  return {
    ok: summary.ok,
    app: summary.app,
    upToDate: summary.upToDate,
    durationMs: Math.round(summary.durationMs),
    steps: Object.fromEntries(
      Object.entries(summary.steps).map(([step, t]) => [step, { durationMs: Math.round(t.durationMs) }]),
    ),
    roleChanges,
    credentialsWritten: apply.credentialsWritten,
    credentialsRemoved: apply.credentialsRemoved,
    targets: targets.map((t) => ({ ...t, durationMs: Math.round(t.durationMs) })),
    // Components without databases have no target: their check (no login) is reported here.
    components: privileges.components.map((c) => ({ component: c.component, login: c.login, ok: c.ok })),
    // As in 0.1, for scripts written against it.
    secrets: targets
      .filter((t) => summary.secretTargets.includes(t.target))
      .map(({ target, migrationsRun, rowsEncrypted, rowsReencrypted, rowsRetried }) => ({
        target,
        migrationsRun,
        rowsEncrypted,
        rowsReencrypted,
        rowsRetried,
      })),
  };
}

function upgradeText(summary: UpgradeSummary): string {
  const changes = summary.targets.reduce((n, t) => n + t.roleChanges, 0);
  const lines = [
    `Roles and grants: ${changes === 0 ? 'no changes' : `${plural(changes, 'change')} applied`}.`,
  ];
  for (const t of summary.targets) {
    if (!summary.secretTargets.includes(t.target)) continue;
    const migrations =
      t.migrationsRun.length === 0 ? 'no pending migrations' : `ran ${t.migrationsRun.join(', ')}`;
    const retried =
      t.rowsRetried > 0 ? ` (${plural(t.rowsRetried, 'row')} retried after concurrent writes)` : '';
    lines.push(
      `target ${t.target}: ${migrations}; ${plural(t.rowsEncrypted, 'row')} encrypted, ${plural(t.rowsReencrypted, 'row')} re-encrypted${retried}; ${plural(t.verify.rowsChecked, 'sampled row')} decrypted in place`,
    );
  }
  if (summary.secretTargets.length === 0) lines.push('Secrets: none configured.');
  const failures = summary.targets.flatMap((t) => t.verify.secretFailures);
  // With failing stored values, privileges' own "Verify: ok" would contradict the verdict below.
  const privileges = verifyText(summary.privileges, { verdict: failures.length === 0 }).trimEnd();
  const verify = `${privileges}\n${failures.length > 0 ? secretFailuresText(failures) : ''}`;
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const verdict = !summary.ok
    ? `Upgrade: done, but verification failed (see above); exit 3.`
    : summary.upToDate
      ? `Upgrade: nothing to do; everything was up to date (${seconds} s).`
      : `Upgrade: done in ${seconds} s.`;
  return `${lines.join('\n')}\n${verify}${verdict}\n`;
}

/** The flags of downgrade, as the command line gave them. */
export interface DowngradeCommandOptions extends SecretsCommandOptions {
  readonly to: string;
  readonly dropRoles: boolean;
  readonly force: boolean;
  readonly lockWaitSeconds: number;
  /** --yes: no confirmation asked (and none needed off a terminal). */
  readonly yes: boolean;
}

/** What downgrade did: the migrations reverted per target, and the roles dropped with --drop-roles. */
interface DowngradeOutcome {
  readonly reverted: Awaited<ReturnType<typeof runDowngrade>>;
  readonly dropped: Awaited<ReturnType<typeof runDropRoles>> | undefined;
}

export async function downgradeCommand(options: DowngradeCommandOptions, io: CliIo): Promise<number> {
  checkDowngradeTo(options.to);
  const deployment = loadOrFail(options.config, io);
  await confirmDestruction(
    {
      command: `downgrade --to ${options.to}${options.dropRoles ? ' --drop-roles' : ''}`,
      app: deployment.config.app,
      losses: downgradeLosses(deployment, options),
      yes: options.yes,
    },
    io,
  );
  if (options.dropRoles) await refuseOpenSessions(deployment, { force: options.force, log: logTo(io) });
  const outcome = await downgradeAndDropRoles(deployment, options, io);
  if (options.format === 'json') printJson(downgradeJson(outcome, options), io);
  else io.stdout(downgradeText(outcome, options));
  return ExitCode.ok;
}

/** The migrations reverted, then with --drop-roles every managed role and login dropped. */
async function downgradeAndDropRoles(
  deployment: Deployment,
  options: DowngradeCommandOptions,
  io: CliIo,
): Promise<DowngradeOutcome> {
  const reverted = await withProgress(io, (progress) =>
    runDowngrade(deployment, options.to, {
      batchSize: options.batchSize,
      // The store's lock waits as long as --lock-wait says, as the roles' locks do.
      lockWaitSeconds: options.lockWaitSeconds,
      log: logTo(io),
      progress,
      env: io.env,
    }),
  );
  const dropped = options.dropRoles
    ? await runDropRoles(deployment, {
        force: options.force,
        lockWaitSeconds: options.lockWaitSeconds,
        log: logTo(io),
        detail: io.detail,
      })
    : undefined;
  return { reverted, dropped };
}

function roleChangeCount({ dropped }: DowngradeOutcome): number {
  return dropped?.targets.reduce((n, t) => n + t.changes.length, 0) ?? 0;
}

function downgradeJson(outcome: DowngradeOutcome, options: DowngradeCommandOptions): object {
  const { reverted, dropped } = outcome;
  return {
    ok: true,
    to: options.to,
    targets: reverted,
    ...(dropped && {
      roles: { changes: roleChangeCount(outcome), credentialsRemoved: dropped.credentialsRemoved },
    }),
  };
}

function downgradeText(outcome: DowngradeOutcome, options: DowngradeCommandOptions): string {
  const { reverted, dropped } = outcome;
  const lines = reverted.map(
    (t) =>
      `target ${t.target}: ${t.migrationsReverted.length === 0 ? 'nothing to revert' : `reverted ${t.migrationsReverted.join(', ')}`}`,
  );
  if (reverted.length === 0) lines.push('Secrets: none configured; nothing to revert.');
  if (dropped) {
    const roleChanges = roleChangeCount(outcome);
    lines.push(
      roleChanges === 0
        ? 'Roles: no managed role or login left to drop.'
        : `Roles: ${plural(roleChanges, 'change')} applied: every managed role and login dropped; ${plural(dropped.credentialsRemoved.length, 'credential file')} removed.`,
    );
  }
  lines.push(`Downgrade to ${options.to}: done.`);
  return `${lines.join('\n')}\n`;
}

/**
 * `status`: exit 3 when the data holds values no configured key can read
 * (key ids no configured key has, values that only look encrypted): a
 * verification failure, not invalid input (the config is fine; the data is
 * not what it should be). Otherwise 0, whatever is still to do.
 */
export async function statusCommand(
  options: Omit<SecretsCommandOptions, 'batchSize'>,
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const status = await runStatus(deployment, io.env);
  const unreadable = status.targets.reduce((n, t) => n + t.tables.reduce((m, x) => m + x.unreadable, 0), 0);
  const exitCode =
    status.unknownKeyIds.length > 0 || unreadable > 0 ? ExitCode.pendingOrMismatch : ExitCode.ok;
  if (options.format === 'json') {
    // `retireable` (0.1) stays for scripts that read it: the same list as unusedPreviousKeys, which
    // says what it is (a key staged ahead of a rotation is unused too, and must stay).
    printJson({ ok: exitCode === ExitCode.ok, ...status, retireable: status.unusedPreviousKeys }, io);
    return exitCode;
  }
  const lines: string[] = [];
  for (const t of status.targets) {
    const applied = t.migrations.filter((m) => m.applied).map((m) => m.name);
    lines.push(
      `target ${t.target}: migrations ${applied.length === 0 ? 'none applied (base)' : applied.join(', ')}`,
    );
    for (const table of t.tables) lines.push(...tableStatusLines(table));
  }
  if (status.targets.length === 0) lines.push('Secrets: none configured.');
  lines.push(...keyStatusLines(status, unreadable));
  io.stdout(`${lines.join('\n')}\n`);
  return exitCode;
}

function tableStatusLines(table: StoreStatus['targets'][number]['tables'][number]): string[] {
  const byKey = Object.entries(table.byKeyId)
    .map(([id, n]) => `${n} under ${id}`)
    .join(', ');
  const unreadable = table.unreadable > 0 ? `; ${table.unreadable} unreadable` : '';
  const lines = [
    `  ${table.schema ? `${table.schema}.` : ''}${table.table}: ${plural(table.rows, 'row')}; ${table.plaintext} in plaintext${byKey ? `; ${byKey}` : ''}${unreadable} (by each value's header)`,
  ];
  if (table.mismatched > 0)
    lines.push(
      `  ${plural(table.mismatched, 'row')} whose dbwarden_key_id does not match its values (rows ${table.mismatchedRows.join(', ')}${table.mismatched > table.mismatchedRows.length ? ', ...' : ''}): \`dbwarden upgrade\` rewrites them`,
    );
  return lines;
}

/** What the runbook's step 4 needs (docs/deploy.md): which previous keys still hold values, which hold none. */
function keyStatusLines(status: StoreStatus, unreadable: number): string[] {
  const lines: string[] = [];
  if (status.previousKeysInUse.length > 0)
    lines.push(`Previous keys still holding values (keep them): ${status.previousKeysInUse.join(', ')}`);
  if (status.unusedPreviousKeys.length > 0)
    lines.push(
      `Previous keys no stored value is under: ${status.unusedPreviousKeys.join(', ')}. ` +
        'A key you rotated away from can now be retired (docs/deploy.md, step 5); ' +
        'a key staged ahead of a rotation holds no value until it becomes current: keep that one.',
    );
  if (status.unknownKeyIds.length > 0)
    lines.push(
      `Key ids in the data that no configured key has: ${status.unknownKeyIds.join(', ')} (exit 3): configure them (masterKey.previous) or restore them from backup`,
    );
  if (unreadable > 0)
    lines.push(
      `${plural(unreadable, 'row')} with a value that starts with "dbwarden:" but is no readable dbwarden message (exit 3): \`dbwarden verify --secrets\` names them`,
    );
  return lines;
}

/**
 * `verify --secrets`: privileges as plain verify does, then every stored value
 * (or --sample N per table) decrypted where it is; one verdict for both, exit 3
 * on any failure.
 */
export async function verifyWithSecretsCommand(
  options: Omit<SecretsCommandOptions, 'format'> & {
    readonly format: 'text' | 'json';
    readonly sample: number | undefined;
  },
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const privileges = await runVerify(deployment, logTo(io));
  const failures = await withProgress(io, (progress) =>
    runVerifySecrets(deployment, {
      sample: options.sample,
      batchSize: options.batchSize,
      log: logTo(io),
      progress,
      env: io.env,
    }),
  );
  const ok = privileges.ok && failures.length === 0;
  if (options.format === 'json') {
    printJson({ ...privileges, ok, secrets: verifySecretsJson(failures) }, io);
  } else {
    io.stdout(verifyWithSecretsText(privileges, failures, options.sample));
  }
  return ok ? ExitCode.ok : ExitCode.pendingOrMismatch;
}

/** `ok    secrets`, or a line per target, table, column and problem, with counts and the first row ids. */
function secretFailuresText(failures: readonly SecretFailure[]): string {
  return failures.length === 0
    ? SECRETS_OK
    : `${secretFailureLines(groupSecretFailures(failures)).join('\n')}\n`;
}
