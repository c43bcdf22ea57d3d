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
}

export interface ApplyCommandOptions extends CommonOptions {
  readonly format: 'text' | 'json';
  readonly components: readonly string[] | undefined;
  readonly rotatePasswords: boolean;
  readonly lockWaitSeconds: number;
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
  const count = changeCount(result);
  if (options.format === 'json') printJson(planJson(result), io);
  else if (options.format === 'sql') io.stdout(planSql(result));
  else io.stdout(planText(result, `Plan: ${summaryLine(result)}.`));
  for (const component of result.lackingCredentials) {
    io.stderr(
      `warning: login of component ${component} exists but its credential file is missing; apply will refuse it until you run: dbwarden apply --rotate-passwords --component ${component}\n`,
    );
  }
  return options.exitCode && count > 0 ? ExitCode.pendingOrMismatch : ExitCode.ok;
}

export async function applyCommand(options: ApplyCommandOptions, io: CliIo): Promise<number> {
  const deployment = loadOrFail(options.config, io);
  const result = await runApply(deployment, {
    components: options.components,
    rotatePasswords: options.rotatePasswords,
    lockWaitSeconds: options.lockWaitSeconds,
    log: logTo(io),
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
      },
      io,
    );
  } else {
    io.stdout(planText(result, applySummary(result, io)));
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

function applySummary(result: ApplyResult, io: CliIo): string {
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
  return `${credentials}Apply: ${applied}.`;
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

// ---------------------------------------------------------------- verify output

function describeDifference(d: PrivilegeDifference): string {
  const object =
    d.kind === 'schema'
      ? `schema ${displayName(d.schema)}`
      : `${d.kind} ${displayName(d.schema)}.${displayName(d.name)}`;
  const columns = d.columns === 'all' ? '' : ` (${d.columns.map(displayName).join(', ')})`;
  return `${d.problem === 'missing' ? 'missing' : 'extra  '} ${d.privilege}${columns} on ${object}`;
}

export function verifyText(result: VerifyResult): string {
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
  const failed = result.components.filter((c) => !c.ok).length;
  lines.push(
    '',
    result.ok
      ? `Verify: ok, ${plural(result.components.length, 'component')} checked.`
      : `Verify: ${failed} of ${plural(result.components.length, 'component')} ${failed === 1 ? 'differs' : 'differ'} from ${failed === 1 ? 'its policy' : 'their policies'}.\n` +
          '  "dbwarden plan" shows what apply would fix; privileges that reach a login through PUBLIC or through roles dbwarden does not manage must be revoked by hand.',
  );
  return `${lines.join('\n')}\n`;
}
