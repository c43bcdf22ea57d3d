/**
 * `upgrade`, `downgrade` and `status`, and the `--secrets` half of `verify`:
 * output for people (text) and scripts (json). Counts, key ids and row ids
 * only: no value is ever printed.
 */
import { ExitCode } from '../errors.js';
import type { SecretFailure, StoreStatus } from '../secrets/store/index.js';
import {
  refuseOpenSessions,
  runDowngrade,
  runDropRoles,
  runStatus,
  runVerifySecrets,
} from '../runner/secrets.js';
import { runUpgrade, type UpgradeSummary } from '../runner/upgrade.js';
import { runVerify } from '../runner/verify.js';
import { loadOrFail, verifyText } from './database-commands.js';
import { type CliIo, plural, printJson } from './output.js';
import { progressReporter } from './progress.js';

interface SecretsCommandOptions {
  readonly config: string;
  readonly format: 'text' | 'json';
  readonly batchSize: number;
}

const logTo = (io: CliIo) => (message: string) => {
  io.stderr(`${message}\n`);
};

/** Runs fn with a progress reporter that is stopped whatever happens. */
async function withProgress<T>(
  io: CliIo,
  fn: (update: ReturnType<typeof progressReporter>['update']) => Promise<T>,
) {
  const reporter = progressReporter(io.stderr, io.progressStream);
  try {
    return await fn(reporter.update);
  } finally {
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
  const verify = `${verifyText(summary.privileges).trimEnd()}\n${failures.length > 0 ? secretFailuresText(failures) : ''}`;
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const verdict = !summary.ok
    ? `Upgrade: done, but verification failed (see above); exit 3.`
    : summary.upToDate
      ? `Upgrade: nothing to do; everything was up to date (${seconds} s).`
      : `Upgrade: done in ${seconds} s.`;
  return `${lines.join('\n')}\n${verify}${verdict}\n`;
}

export async function downgradeCommand(
  options: SecretsCommandOptions & {
    readonly to: string;
    readonly dropRoles: boolean;
    readonly force: boolean;
    readonly lockWaitSeconds: number;
  },
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  if (options.dropRoles) await refuseOpenSessions(deployment, { force: options.force, log: logTo(io) });
  const result = await withProgress(io, (progress) =>
    runDowngrade(deployment, options.to, {
      batchSize: options.batchSize,
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
      })
    : undefined;
  const roleChanges = dropped?.targets.reduce((n, t) => n + t.changes.length, 0) ?? 0;
  if (options.format === 'json') {
    printJson(
      {
        ok: true,
        to: options.to,
        targets: result,
        ...(dropped && { roles: { changes: roleChanges, credentialsRemoved: dropped.credentialsRemoved } }),
      },
      io,
    );
    return ExitCode.ok;
  }
  const lines = result.map(
    (t) =>
      `target ${t.target}: ${t.migrationsReverted.length === 0 ? 'nothing to revert' : `reverted ${t.migrationsReverted.join(', ')}`}`,
  );
  if (result.length === 0) lines.push('Secrets: none configured; nothing to revert.');
  if (dropped) {
    lines.push(
      roleChanges === 0
        ? 'Roles: no managed role or login left to drop.'
        : `Roles: ${plural(roleChanges, 'change')} applied: every managed role and login dropped; ${plural(dropped.credentialsRemoved.length, 'credential file')} removed.`,
    );
  }
  lines.push(`Downgrade to ${options.to}: done.`);
  io.stdout(`${lines.join('\n')}\n`);
  return ExitCode.ok;
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
    printJson({ ok: exitCode === ExitCode.ok, ...status }, io);
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
 * (or --sample N per table) decrypted where it is; exit 3 on any failure.
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
  if (options.format === 'json')
    printJson({ ...privileges, ok, secrets: { ok: failures.length === 0, failures } }, io);
  else io.stdout(`${verifyText(privileges)}${secretFailuresText(failures)}`);
  return ok ? ExitCode.ok : ExitCode.pendingOrMismatch;
}

function secretFailuresText(failures: readonly SecretFailure[]): string {
  if (failures.length === 0) return 'ok    secrets: every stored value decrypts where it is\n';
  const lines = failures.map(
    (f) => `FAIL  secret ${f.target}: ${f.table}.${f.column} row ${f.primaryKey}: ${f.problem}: ${f.message}`,
  );
  return `${lines.join('\n')}\n`;
}
