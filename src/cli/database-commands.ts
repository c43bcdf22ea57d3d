/**
 * `plan`, `apply` and `verify`: load the deployment (exit 2 on any problem,
 * before a connection is made), run, and print for people or scripts.
 */
import path from 'node:path';
import { ExitCode, InvalidInputError } from '../errors.js';
import { changeIntent } from '../dialects/dialect.js';
import type { PrivilegeDifference } from '../plan/expected.js';
import type { Change } from '../plan/types.js';
import { loadDeployment } from '../policy/load.js';
import type { Deployment } from '../policy/model.js';
import { type ApplyResult, type PlanResult, runApply, runPlan, type TargetPlan } from '../runner/apply.js';
import { desiredState } from '../plan/desired.js';
import {
  DBWARDEN_VERSION,
  deploymentDigest,
  makePlanfile,
  type Planfile,
  readPlanfile,
  writePlanfile,
} from '../runner/planfile.js';
import { readStorePending, type StorePending } from '../runner/store-pending.js';
import { runUpgradeDryRun } from '../runner/upgrade.js';
import { runVerify, type VerifyResult } from '../runner/verify.js';
import { displayName } from '../util/printable.js';
import { type CliIo, displayPath, plural, printDiagnostics, printJson } from './output.js';

export type PlanFormat = 'text' | 'json' | 'sql';

interface CommonOptions {
  readonly config: string;
}

export interface PlanCommandOptions extends CommonOptions {
  readonly format: PlanFormat;
  readonly exitCode: boolean;
  readonly components: readonly string[] | undefined;
  readonly rotatePasswords: boolean;
  /** --out FILE: also write the reviewed plan there. */
  readonly out?: string | undefined;
}

export interface ApplyCommandOptions extends CommonOptions {
  readonly format: 'text' | 'json';
  readonly components: readonly string[] | undefined;
  readonly rotatePasswords: boolean;
  readonly lockWaitSeconds: number;
  /** apply FILE: the reviewed plan to apply. */
  readonly planfile?: string | undefined;
}

export interface UpgradeDryRunCommandOptions extends CommonOptions {
  readonly format: 'text' | 'json';
}

export interface VerifyCommandOptions extends CommonOptions {
  readonly format: 'text' | 'json';
}

/** The deployment, or InvalidInputError (exit 2) with every problem; warnings go to stderr. */
export function loadOrFail(configPath: string, io: CliIo): Deployment {
  const { value, diagnostics } = loadDeployment(path.resolve(io.cwd, configPath), io.env);
  if (!value) {
    throw new InvalidInputError(
      `invalid input: ${plural(diagnostics.errors.length, 'error')}; nothing was changed`,
      {
        diagnostics: diagnostics.sorted(),
        hint: 'run "dbwarden validate" for the same report',
      },
    );
  }
  printDiagnostics(diagnostics.warnings, io);
  return value;
}

const logTo = (io: CliIo) => (message: string) => {
  io.stderr(`${message}\n`);
};

export async function planCommand(options: PlanCommandOptions, io: CliIo): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const result = await runPlan(deployment, {
    components: options.components,
    rotatePasswords: options.rotatePasswords,
    log: logTo(io),
  });
  const store = await storeForPlan(deployment, io);
  const written = options.out === undefined ? undefined : savePlan(deployment, result, options, io);
  const count = changeCount(result);
  if (options.format === 'json') {
    printJson({ ...planJson(result), ...storeJson(store), ...(written ? { planfile: written } : {}) }, io);
  } else if (options.format === 'sql') {
    io.stdout(planSql(result));
  } else {
    io.stdout(planText(result, `${storeText(store)}Plan: ${summaryLine(result)}.`));
  }
  if (written !== undefined && options.format !== 'json') {
    (options.format === 'sql' ? io.stderr : io.stdout)(
      `Saved the reviewed plan to ${written}; apply exactly it with: dbwarden apply ${written}\n`,
    );
  }
  for (const component of result.lackingCredentials) {
    io.stderr(
      `warning: login of component ${component} exists but its credential file is missing; apply will refuse it until you run: dbwarden apply --rotate-passwords --component ${component}\n`,
    );
  }
  return options.exitCode && count > 0 ? ExitCode.pendingOrMismatch : ExitCode.ok;
}

/**
 * plan shows the store's pending work too; a store upgrade would refuse
 * (a secrets table missing, say) is a warning here, not a failed plan of roles.
 */
async function storeForPlan(deployment: Deployment, io: CliIo): Promise<StorePending | undefined> {
  try {
    return await readStorePending(deployment);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    io.stderr(`warning: encrypted store: ${err.message}\n  upgrade would refuse this: ${err.hint ?? ''}\n`);
    return undefined;
  }
}

/** Writes the planfile (atomically); returns its path as shown to the operator. */
function savePlan(
  deployment: Deployment,
  result: PlanResult,
  options: PlanCommandOptions,
  io: CliIo,
): string {
  const file = path.resolve(io.cwd, options.out ?? '');
  const shown = displayPath(file, io.cwd);
  writePlanfile(
    file,
    makePlanfile({
      dbwarden: DBWARDEN_VERSION,
      createdAt: new Date().toISOString(),
      app: result.app,
      configDigest: deploymentDigest(desiredState(deployment)),
      options: { components: options.components ?? null, rotatePasswords: options.rotatePasswords },
      targets: result.targets.map((t) => ({
        name: t.target,
        engine: t.engine,
        database: t.database,
        serverVersion: t.version,
        fingerprint: result.fingerprints[t.target] ?? '',
      })),
      changes: result.targets.flatMap((t) =>
        t.changes.map(({ change, statements }) => ({ intent: planfileIntent(change, statements), change })),
      ),
    }),
    shown,
  );
  return shown;
}

/** The reviewer's words for a change; a password is never in the file, apply makes it. */
function planfileIntent(change: Change, statements: TargetPlan['changes'][number]['statements']): string {
  const intent = changeIntent(statements) ?? change.type;
  if (change.type === 'set-password') return `${intent} (a new password will be generated by apply)`;
  if (change.type === 'create-login')
    return `${intent} (a new password will be generated by apply, unless the credentials already hold one)`;
  return intent;
}

export async function applyCommand(options: ApplyCommandOptions, io: CliIo): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const reviewed = options.planfile === undefined ? undefined : loadReviewedPlan(deployment, options, io);
  const result = await runApply(deployment, {
    components: reviewed ? (reviewed.planfile.options.components ?? undefined) : options.components,
    rotatePasswords: reviewed ? reviewed.planfile.options.rotatePasswords : options.rotatePasswords,
    lockWaitSeconds: options.lockWaitSeconds,
    log: logTo(io),
    reviewed: reviewed && {
      file: reviewed.shown,
      fingerprints: Object.fromEntries(reviewed.planfile.targets.map((t) => [t.name, t.fingerprint])),
      changes: reviewed.planfile.changes.map((c) => c.change),
    },
    detail: io.detail,
  });
  if (options.format === 'json') {
    printJson(
      {
        ...planJson(result),
        statements: statementCount(result),
        credentials: {
          written: result.credentialsWritten.map((f) => displayPath(f, io.cwd)),
          removed: result.credentialsRemoved.map((f) => displayPath(f, io.cwd)),
        },
        ...(reviewed
          ? { planfile: { file: reviewed.shown, createdAt: reviewed.planfile.createdAt, applied: true } }
          : {}),
      },
      io,
    );
  } else {
    io.stdout(planText(result, applySummary(result, io, reviewed)));
  }
  return ExitCode.ok;
}

interface LoadedPlan {
  readonly planfile: Planfile;
  /** The path as the operator gave it (relative to the working directory when under it). */
  readonly shown: string;
}

/**
 * apply FILE, before any connection: the file parsed and checked (exit 2 when
 * malformed, of another format or version, or edited), and made from these
 * policies and this config (exit 2 otherwise: the pair does not belong
 * together, whatever the servers hold).
 */
function loadReviewedPlan(deployment: Deployment, options: ApplyCommandOptions, io: CliIo): LoadedPlan {
  if (options.components !== undefined || options.rotatePasswords) {
    throw new InvalidInputError(
      'apply FILE applies the plan as made: --component and --rotate-passwords go to plan',
      {
        hint: 'dbwarden plan --out FILE --component NAME (or --rotate-passwords), then dbwarden apply FILE',
      },
    );
  }
  const file = path.resolve(io.cwd, options.planfile ?? '');
  const shown = displayPath(file, io.cwd);
  const planfile = readPlanfile(file, shown);
  const digest = deploymentDigest(desiredState(deployment));
  if (planfile.app !== deployment.config.app || planfile.configDigest !== digest) {
    throw new InvalidInputError(
      `planfile ${shown} was made from other policies or another config (app ${planfile.app}, dbwarden ${planfile.dbwarden}) than ${displayPath(deployment.config.file, io.cwd)} and its policies now hold; nothing was changed`,
      { hint: 'make and review a new plan from the current files: dbwarden plan --out FILE' },
    );
  }
  return { planfile, shown };
}

export async function upgradeDryRunCommand(options: UpgradeDryRunCommandOptions, io: CliIo): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const { plan, store } = await runUpgradeDryRun(deployment, { env: io.env, log: logTo(io) });
  const nothing = changeCount(plan) === 0 && (store === undefined || store.upToDate);
  if (options.format === 'json') {
    printJson({ dryRun: true, upToDate: nothing, ...planJson(plan), ...storeJson(store) }, io);
  } else {
    const verdict = nothing
      ? 'Upgrade (dry run): nothing to do; nothing was changed.'
      : `Upgrade (dry run): roles: ${summaryLine(plan)}; nothing was changed.`;
    io.stdout(planText(plan, `${storeText(store)}${verdict}`));
  }
  return ExitCode.ok;
}

export async function verifyCommand(options: VerifyCommandOptions, io: CliIo): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const result = await runVerify(deployment, logTo(io));
  if (options.format === 'json') printJson(result, io);
  else io.stdout(verifyText(result));
  return result.ok ? ExitCode.ok : ExitCode.pendingOrMismatch;
}

// ---------------------------------------------------------------- plan output

/** `+` gives, `-` takes away, `~` changes a role in place. */
function sign(change: Change): string {
  switch (change.type) {
    case 'create-role':
    case 'create-login':
    case 'grant-membership':
    case 'grant':
    case 'grant-columns':
      return '+';
    case 'revoke-membership':
    case 'revoke':
    case 'revoke-columns':
    case 'revoke-grant-option':
    case 'drop-login':
    case 'drop-role':
    case 'forget-role':
      return '-';
    case 'adopt-role':
    case 'alter-role':
    case 'set-password':
      return '~';
  }
}

function changeCount(result: PlanResult): number {
  return result.targets.reduce((n, t) => n + t.changes.length, 0);
}

function statementCount(result: PlanResult): number {
  return result.targets.reduce((n, t) => n + t.changes.reduce((m, c) => m + c.statements.length, 0), 0);
}

function summaryLine(result: PlanResult): string {
  const all = result.targets.flatMap((t) => t.changes.map((c) => sign(c.change)));
  if (all.length === 0) {
    return result.components
      ? `no changes for ${result.components.length === 1 ? 'component' : 'components'} ${result.components.join(', ')} (other components and hardenPublic were not planned)`
      : 'no changes; every target matches the policies';
  }
  const count = (s: string) => all.filter((x) => x === s).length;
  const touched = result.targets.filter((t) => t.changes.length > 0).length;
  return `${count('+')} to add, ${count('~')} to change, ${count('-')} to remove, on ${touched} of ${plural(result.targets.length, 'target')}`;
}

function applySummary(result: ApplyResult, io: CliIo, reviewed?: LoadedPlan): string {
  const files = [
    // A place is a file path or "Secret <namespace>/<name>" (credentials.kubernetes).
    ...result.credentialsWritten.map((f) =>
      f.startsWith('Secret ') ? `  wrote ${f}` : `  wrote ${displayPath(f, io.cwd)} (mode 0600)`,
    ),
    ...result.credentialsRemoved.map((f) => `  removed ${displayPath(f, io.cwd)}`),
  ];
  const credentials = files.length ? `Credentials:\n${files.join('\n')}\n` : '';
  const applied =
    changeCount(result) === 0
      ? `nothing to do: ${summaryLine(result)}`
      : `applied ${summaryLine(result)} (${plural(statementCount(result), 'statement')})`;
  const which = reviewed
    ? `the reviewed plan ${reviewed.shown} (made ${reviewed.planfile.createdAt}), every target unchanged since: `
    : '';
  return `${credentials}Apply: ${which}${applied}.`;
}

function componentLabel(component: string): string {
  return component === '' ? 'PUBLIC (hardenPublic)' : `component ${component}`;
}

function targetHeader(t: TargetPlan): string {
  return `target ${t.target} (${t.version}, database ${displayName(t.database)})`;
}

function planText(result: PlanResult, summary: string): string {
  const lines: string[] = [];
  for (const t of result.targets) {
    lines.push(targetHeader(t));
    if (t.changes.length === 0) lines.push('  no changes');
    const components = [...new Set(t.changes.map((c) => c.change.component))];
    for (const component of components) {
      lines.push(`  ${componentLabel(component)}`);
      for (const { change, statements } of t.changes.filter((c) => c.change.component === component)) {
        lines.push(`    ${sign(change)} ${changeIntent(statements) ?? change.type}`);
      }
    }
    lines.push('');
  }
  lines.push(summary);
  return `${lines.join('\n')}\n`;
}

function planJson(result: PlanResult) {
  return {
    app: result.app,
    targets: result.targets.map((t) => ({
      name: t.target,
      engine: t.engine,
      database: t.database,
      version: t.version,
      changes: t.changes.length,
    })),
    changes: result.targets.flatMap((t) => t.changes.map((c) => c.change)),
    summary: summaryLine(result),
  };
}

function planSql(result: PlanResult): string {
  const lines = [
    `-- dbwarden plan for app ${result.app}: ${summaryLine(result)}`,
    "-- apply runs each target under dbwarden's lock; password verifiers and hashes are redacted here",
  ];
  for (const t of result.targets) {
    lines.push(
      '',
      `-- ${targetHeader(t)}`,
      t.transactional
        ? '-- in one transaction'
        : '-- each statement commits on its own (DDL is not transactional here); apply again finishes an interrupted run',
    );
    for (const { statements } of t.changes) {
      for (const s of statements) lines.push(`-- ${s.intent}`, `${s.display};`);
    }
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- store output

function tableName(t: { schema: string | undefined; table: string }): string {
  return t.schema === undefined ? displayName(t.table) : `${displayName(t.schema)}.${displayName(t.table)}`;
}

/** The secrets step's pending work, before plan's summary line; empty without secrets. */
function storeText(store: StorePending | undefined): string {
  if (store === undefined) return '';
  const current = store.currentKeyId ?? '(none: the config has no masterKey; upgrade would refuse)';
  const lines = [`Encrypted store (upgrade's secrets step; current key ${current}):`];
  for (const t of store.targets) {
    lines.push(
      `  target ${t.target}: ${t.migrations.length ? `migrations to run: ${t.migrations.join(', ')}` : 'no migrations to run'}`,
    );
    for (const table of t.tables) {
      const work = [
        ...(table.encrypt > 0 ? [`${plural(table.encrypt, 'row')} to encrypt (plaintext)`] : []),
        ...table.reencrypt.map((r) => `${plural(r.rows, 'row')} to re-encrypt from key ${r.keyId}`),
      ];
      lines.push(`    table ${tableName(table)}: ${work.length ? work.join(', ') : 'nothing to encrypt'}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

function storeJson(store: StorePending | undefined) {
  return store === undefined ? {} : { store };
}

// ---------------------------------------------------------------- verify output

function describeDifference(d: PrivilegeDifference): string {
  const object =
    d.kind === 'schema'
      ? `schema ${displayName(d.schema)}`
      : `${d.kind} ${displayName(d.schema)}.${displayName(d.name)}`;
  const columns = d.columns === 'all' ? '' : ` (${d.columns.map(displayName).join(', ')})`;
  return `${d.problem === 'missing' ? 'missing' : 'extra  '} ${d.privilege}${columns} on ${object}`;
}

/** What to do about privileges that differ: printed under a failing verdict. */
export const PRIVILEGES_HINT =
  '"dbwarden plan" shows what apply would fix; privileges that reach a login through PUBLIC or through roles dbwarden does not manage must be revoked by hand.';

/** `1 of 3 components differs from its policy`; undefined when every component matches. */
export function privilegesDifferPhrase(result: VerifyResult): string | undefined {
  if (result.ok) return undefined;
  const failed = result.components.filter((c) => !c.ok).length;
  return `${failed} of ${plural(result.components.length, 'component')} ${failed === 1 ? 'differs' : 'differ'} from ${failed === 1 ? 'its policy' : 'their policies'}`;
}

/** One line per component and target, then the verdict (left out when a caller prints its own). */
export function verifyText(result: VerifyResult, options: { readonly verdict?: boolean } = {}): string {
  const lines: string[] = [];
  for (const c of result.components) {
    if (c.targets.length === 0) {
      lines.push(
        c.ok
          ? `ok    ${c.component}: no database access, and login ${c.login} cannot log in`
          : `FAIL  ${c.component}: has no database access in its policy, but login ${c.login} can log in (${c.unexpectedLogin.join(', ')})`,
      );
      continue;
    }
    for (const t of c.targets) {
      const ok = t.error === undefined && t.differences.length === 0;
      lines.push(
        `${ok ? 'ok  ' : 'FAIL'}  ${c.component} on ${t.target}${ok ? ': privileges equal the policy' : ''}`,
      );
      if (t.error !== undefined) lines.push(`        ${t.error}`);
      for (const d of t.differences) lines.push(`        ${describeDifference(d)}`);
    }
  }
  if (options.verdict === false) return `${lines.join('\n')}\n`;
  const differ = privilegesDifferPhrase(result);
  lines.push(
    '',
    differ === undefined
      ? `Verify: ok, ${plural(result.components.length, 'component')} checked.`
      : `Verify: ${differ}.\n  ${PRIVILEGES_HINT}`,
  );
  return `${lines.join('\n')}\n`;
}
