/**
 * `upgrade`, `downgrade` and `status`, and the `--secrets` half of `verify`:
 * output for people (text) and scripts (json). Counts, key ids and row ids
 * only: no value is ever printed.
 */
import { ExitCode } from '../errors.js';
import type { SecretFailure } from '../secrets/store/index.js';
import { runDowngrade, runStatus, runUpgrade, runVerifySecrets } from '../runner/secrets.js';
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
  options: SecretsCommandOptions & { readonly lockWaitSeconds: number },
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const result = await withProgress(io, (progress) =>
    runUpgrade(deployment, {
      components: undefined,
      rotatePasswords: false,
      lockWaitSeconds: options.lockWaitSeconds,
      batchSize: options.batchSize,
      log: logTo(io),
      progress,
      env: io.env,
    }),
  );
  const changes = result.apply.targets.reduce((n, t) => n + t.changes.length, 0);
  if (options.format === 'json') {
    printJson({ ok: true, app: result.apply.app, roleChanges: changes, secrets: result.secrets }, io);
    return ExitCode.ok;
  }
  const lines = [
    `Roles and grants: ${changes === 0 ? 'no changes' : `${plural(changes, 'change')} applied`}.`,
  ];
  if (result.secrets.length === 0) lines.push('Secrets: none configured.');
  for (const t of result.secrets) {
    const migrations =
      t.migrationsRun.length === 0 ? 'no pending migrations' : `ran ${t.migrationsRun.join(', ')}`;
    lines.push(
      `target ${t.target}: ${migrations}; ${plural(t.rowsEncrypted, 'row')} encrypted, ${plural(t.rowsReencrypted, 'row')} re-encrypted${t.rowsRetried > 0 ? ` (${plural(t.rowsRetried, 'row')} retried after concurrent writes)` : ''}`,
    );
  }
  const idle =
    changes === 0 &&
    result.secrets.every((t) => t.migrationsRun.length + t.rowsEncrypted + t.rowsReencrypted === 0);
  lines.push(idle ? 'Upgrade: nothing to do; everything was up to date.' : 'Upgrade: done.');
  io.stdout(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

export async function downgradeCommand(
  options: SecretsCommandOptions & { readonly to: string },
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const result = await withProgress(io, (progress) =>
    runDowngrade(deployment, options.to, {
      batchSize: options.batchSize,
      log: logTo(io),
      progress,
      env: io.env,
    }),
  );
  if (options.format === 'json') {
    printJson({ ok: true, to: options.to, targets: result }, io);
    return ExitCode.ok;
  }
  const lines = result.map(
    (t) =>
      `target ${t.target}: ${t.migrationsReverted.length === 0 ? 'nothing to revert' : `reverted ${t.migrationsReverted.join(', ')}`}`,
  );
  if (result.length === 0) lines.push('Secrets: none configured; nothing to revert.');
  lines.push(`Downgrade to ${options.to}: done.`);
  io.stdout(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

export async function statusCommand(
  options: Omit<SecretsCommandOptions, 'batchSize'>,
  io: CliIo,
): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const status = await runStatus(deployment, io.env);
  if (options.format === 'json') {
    printJson(status, io);
    return ExitCode.ok;
  }
  const lines: string[] = [];
  for (const t of status.targets) {
    const applied = t.migrations.filter((m) => m.applied).map((m) => m.name);
    lines.push(
      `target ${t.target}: migrations ${applied.length === 0 ? 'none applied (base)' : applied.join(', ')}`,
    );
    for (const table of t.tables) {
      const byKey = Object.entries(table.byKeyId)
        .map(([id, n]) => `${n} under ${id}`)
        .join(', ');
      lines.push(
        `  ${table.schema ? `${table.schema}.` : ''}${table.table}: ${plural(table.rows, 'row')}; ${table.plaintext} in plaintext${byKey ? `; ${byKey}` : ''}`,
      );
    }
  }
  if (status.targets.length === 0) lines.push('Secrets: none configured.');
  if (status.retireable.length > 0) {
    lines.push(`Previous keys no row uses any more (safe to retire): ${status.retireable.join(', ')}`);
  }
  if (status.unknownKeyIds.length > 0) {
    lines.push(`Key ids in the data that no configured key has: ${status.unknownKeyIds.join(', ')}`);
  }
  io.stdout(`${lines.join('\n')}\n`);
  return ExitCode.ok;
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
