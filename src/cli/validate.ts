import path from 'node:path';
import { ExitCode } from '../errors.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import { loadDeployment, loadPolicies } from '../policy/load.js';
import type { ComponentPolicy } from '../policy/model.js';
import {
  type CliIo,
  displayDiagnostic,
  displayPath,
  type OutputFormat,
  plural,
  printDiagnostics,
  printJson,
} from './output.js';

export interface ValidateOptions {
  readonly config: string;
  readonly format: OutputFormat;
  /** Policy files or directories to check on their own, without a config. */
  readonly paths: readonly string[];
}

interface ValidateReport {
  readonly ok: boolean;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
  readonly config?: string;
  readonly targets?: readonly { name: string; kind: string; engine: string | null }[];
  readonly components: readonly { component: string; file: string; kinds: string[]; tables: number }[];
}

/** `dbwarden validate`: every problem in the config and policies, without touching a database. */
export function runValidate(options: ValidateOptions, io: CliIo): number {
  const report =
    options.paths.length > 0 ? validatePolicyPaths(options.paths, io) : validateConfig(options.config, io);
  if (options.format === 'json') {
    printJson(report, io);
  } else {
    printDiagnostics([...report.errors, ...report.warnings], io);
    io.stdout(`${summary(report)}\n`);
  }
  return report.ok ? ExitCode.ok : ExitCode.invalidInput;
}

function validateConfig(configPath: string, io: CliIo): ValidateReport {
  const { value, diagnostics } = loadDeployment(path.resolve(io.cwd, configPath), io.env);
  return {
    ok: !diagnostics.hasErrors,
    errors: diagnostics.errors.map((d) => displayDiagnostic(d, io.cwd)),
    warnings: diagnostics.warnings.map((d) => displayDiagnostic(d, io.cwd)),
    config: displayPath(value?.config.file ?? configPath, io.cwd),
    targets:
      value?.config.targets.map((t) => ({ name: t.name, kind: t.kind, engine: t.engine ?? null })) ?? [],
    components: describeComponents(value?.policies ?? [], io),
  };
}

function validatePolicyPaths(paths: readonly string[], io: CliIo): ValidateReport {
  const { value, diagnostics } = loadPolicies(paths.map((p) => path.resolve(io.cwd, p)));
  return {
    ok: !diagnostics.hasErrors,
    errors: diagnostics.errors.map((d) => displayDiagnostic(d, io.cwd)),
    warnings: diagnostics.warnings.map((d) => displayDiagnostic(d, io.cwd)),
    components: describeComponents(value ?? [], io),
  };
}

function describeComponents(policies: readonly ComponentPolicy[], io: CliIo) {
  return policies.map((p) => ({
    component: p.component,
    file: displayPath(p.file, io.cwd),
    kinds: p.databases.map((db) => db.kind),
    tables: p.databases.reduce((n, db) => n + db.tables.length, 0),
  }));
}

function summary(report: ValidateReport): string {
  const warnings = report.warnings.length > 0 ? `, ${plural(report.warnings.length, 'warning')}` : '';
  if (!report.ok) return `invalid: ${plural(report.errors.length, 'error')}${warnings}; nothing was changed`;
  const withLogin = report.components.filter((c) => c.kinds.length > 0).length;
  const targets = report.targets ? `, ${plural(report.targets.length, 'target')}` : '';
  const config = report.config ? `${report.config}: ` : '';
  return `ok: ${config}${plural(report.components.length, 'component')} (${withLogin} with database access)${targets}${warnings}`;
}
