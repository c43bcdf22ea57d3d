/**
 * Checks that need the config and every policy together: duplicate
 * components, database kinds no target has, and names the target engines
 * cannot hold. Pure.
 */
import { ALL_ENGINES, IDENTIFIER_RULES } from '../dialects/engines.js';
import { compareText } from '../util/compare.js';
import { renderSecretName, secretNameProblem } from './secret-name.js';
import { type ParsedConfig, secretNamePosition } from './config-file.js';
import type { DiagnosticList, SourcePosition } from './diagnostics.js';
import type { Deployment, EngineName } from './model.js';
import { grantRoleName, loginName } from './names.js';
import type { ParsedPolicy } from './policy-file.js';
import { indexOfScalar, type PathSegment, positionOf } from './yaml-source.js';

/** Which engines may hold the names used under a database kind. */
export type EnginesForKind = (kind: string) => readonly EngineName[];

/** Without a config every engine could be a target, so names must fit them all. */
export const anyEngine: EnginesForKind = () => ALL_ENGINES;

export function checkDeployment(
  parsedConfig: ParsedConfig,
  policyFiles: readonly string[],
  policies: readonly ParsedPolicy[],
  diags: DiagnosticList,
): Deployment | undefined {
  const before = diags.errors.length;
  // With a policy file that failed to parse, "no policy uses this kind" may be false: say it only when all parsed.
  const allPoliciesParsed = !diags.hasErrors;
  const { config, source } = parsedConfig;
  const enginesForKind = targetEngines(parsedConfig);
  checkUniqueComponents(policies, diags);
  checkKindsExist(parsedConfig, policies, diags);
  if (allPoliciesParsed) warnUnusedKinds(parsedConfig, policies, diags);
  for (const parsed of policies) {
    checkPolicyNamesFitEngines(parsed, enginesForKind, diags);
    checkRoleNamesFitEngines(config.app, parsed, enginesForKind, diags);
    checkSecretName(parsedConfig, parsed, diags);
  }
  config.secrets.forEach((secret, i) => {
    const names: [string, PathSegment[]][] = [
      [secret.table, ['secrets', i, 'table']],
      [secret.primaryKey, ['secrets', i, 'primaryKey']],
      ...secret.columns.map((c, j): [string, PathSegment[]] => [c, ['secrets', i, 'columns', j]]),
    ];
    for (const [name, at] of names) {
      checkObjectName(name, enginesForKind(secret.kind), () => positionOf(source, at), diags);
    }
  });
  if (diags.errors.length > before) return undefined;
  const sorted = [...policies].map((p) => p.policy).sort((a, b) => compareText(a.component, b.component));
  return Object.freeze({
    config: Object.freeze({ ...config, policyFiles }),
    policies: Object.freeze(sorted),
  });
}

function targetEngines(parsedConfig: ParsedConfig): EnginesForKind {
  return (kind) => {
    const engines = new Set<EngineName>();
    for (const target of parsedConfig.config.targets) {
      if (target.kind !== kind) continue;
      for (const engine of target.engine ? [target.engine] : ALL_ENGINES) engines.add(engine);
    }
    return [...engines];
  };
}

export function checkUniqueComponents(policies: readonly ParsedPolicy[], diags: DiagnosticList): void {
  const first = new Map<string, ParsedPolicy>();
  for (const parsed of policies) {
    const name = parsed.policy.component;
    const earlier = first.get(name);
    if (!earlier) {
      first.set(name, parsed);
      continue;
    }
    diags.error(
      positionOf(parsed.source, ['component']),
      `duplicate component "${name}"`,
      'each component needs exactly one policy file',
      { label: 'first defined at', ...positionOf(earlier.source, ['component']) },
    );
  }
}

function checkKindsExist(
  parsedConfig: ParsedConfig,
  policies: readonly ParsedPolicy[],
  diags: DiagnosticList,
) {
  const kinds = new Set(parsedConfig.config.targets.map((t) => t.kind));
  const known = [...kinds].sort(compareText).join(', ');
  for (const parsed of policies) {
    for (const db of parsed.policy.databases) {
      if (kinds.has(db.kind)) continue;
      diags.error(
        positionOf(parsed.source, ['databases', db.kind], 'key'),
        `database kind "${db.kind}" has no target`,
        `add a target with kind: ${db.kind}, or use one of: ${known}`,
        { label: 'targets are listed at', ...positionOf(parsedConfig.source, ['targets'], 'key') },
      );
    }
  }
  parsedConfig.config.secrets.forEach((secret, i) => {
    if (kinds.has(secret.kind)) return;
    diags.error(
      positionOf(parsedConfig.source, ['secrets', i, 'kind']),
      `secrets entry for table "${secret.table}" names kind "${secret.kind}", which no target has`,
      `use one of: ${known}`,
    );
  });
}

function warnUnusedKinds(
  parsedConfig: ParsedConfig,
  policies: readonly ParsedPolicy[],
  diags: DiagnosticList,
) {
  const used = new Set([
    ...policies.flatMap((p) => p.policy.databases.map((db) => db.kind)),
    ...parsedConfig.config.secrets.map((s) => s.kind),
  ]);
  parsedConfig.config.targets.forEach((target, i) => {
    if (used.has(target.kind)) return;
    diags.warning(
      positionOf(parsedConfig.source, ['targets', i, 'kind']),
      `target "${target.name}" has kind "${target.kind}", which no policy uses: dbwarden will grant nothing there`,
    );
  });
}

/** Schema, table and column names of one policy against every engine its kinds map to. */
export function checkPolicyNamesFitEngines(
  parsed: ParsedPolicy,
  enginesForKind: EnginesForKind,
  diags: DiagnosticList,
): void {
  for (const db of parsed.policy.databases) {
    const engines = enginesForKind(db.kind);
    const kindPath = ['databases', db.kind];
    const { source } = parsed;
    if (db.schema !== undefined)
      checkObjectName(db.schema, engines, () => positionOf(source, [...kindPath, 'schema']), diags);
    for (const access of db.tables) {
      const tablePath = [...kindPath, 'tables', access.table];
      checkObjectName(access.table, engines, () => positionOf(source, tablePath, 'key'), diags);
      for (const grant of access.grants) {
        if (grant.columns === 'all') continue;
        for (const column of grant.columns) {
          const columnAt = () => {
            const index = indexOfScalar(source, [...tablePath, grant.verb], column);
            return positionOf(source, [...tablePath, grant.verb, index]);
          };
          checkObjectName(column, engines, columnAt, diags);
        }
      }
    }
  }
}

function checkRoleNamesFitEngines(
  app: string,
  parsed: ParsedPolicy,
  enginesForKind: EnginesForKind,
  diags: DiagnosticList,
): void {
  const engines = new Set(parsed.policy.databases.flatMap((db) => enginesForKind(db.kind)));
  const names = [loginName(app, parsed.policy.component), grantRoleName(app, parsed.policy.component)];
  for (const engine of engines) {
    const rules = IDENTIFIER_RULES[engine];
    for (const name of names) {
      const problem = rules.roleNameProblem(name);
      if (!problem) continue;
      diags.error(
        positionOf(parsed.source, ['component']),
        `role name "${name}" ${problem}`,
        'shorten the app or component name',
      );
    }
  }
}

/** With credentials.kubernetes: the Secret of a component with databases needs a valid Kubernetes name. */
function checkSecretName(parsedConfig: ParsedConfig, parsed: ParsedPolicy, diags: DiagnosticList): void {
  const kubernetes = parsedConfig.config.credentials.kubernetes;
  const component = parsed.policy.component;
  if (kubernetes === undefined || parsed.policy.databases.length === 0) return;
  const name = renderSecretName(kubernetes.secretName, parsedConfig.config.app, component);
  const problem = secretNameProblem(name);
  if (problem === undefined) return;
  const written = parsedConfig.source.doc.getIn(['credentials', 'kubernetes', 'secretName']) !== undefined;
  diags.error(
    positionOf(parsed.source, ['component']),
    `component "${component}" would write its credentials to Secret "${name}", which ${problem}`,
    component.includes('_')
      ? `Kubernetes names cannot hold "_": rename the component (for example to ${component.replaceAll('_', '')}), or write its credentials to files only (credentials.dir)`
      : 'shorten the component name or the secretName pattern',
    { label: 'Secret names come from', ...secretNamePosition(parsedConfig.source, written) },
  );
}

/** `at` is asked only for a name with a problem: finding a place walks the YAML. */
function checkObjectName(
  name: string,
  engines: readonly EngineName[],
  at: () => SourcePosition,
  diags: DiagnosticList,
): void {
  for (const engine of engines) {
    const problem = IDENTIFIER_RULES[engine].objectNameProblem(name);
    if (problem) diags.error(at(), `name ${JSON.stringify(name)} ${problem}`);
  }
}
