/**
 * The deployment config: YAML text -> validated, frozen DeploymentConfig.
 * Pure: the caller reads the file and lists policy directories.
 */
import path from 'node:path';
import { DEFAULT_SECRET_NAME_PATTERN, renderSecretName, secretNameProblem } from './secret-name.js';
import {
  addressKey,
  adminUrlProblem,
  databaseAddress,
  describeAddress,
  SAME_DATABASE_HINT,
} from '../dialects/database-address.js';
import { engineForScheme, SUPPORTED_URL_SCHEMES, urlScheme } from '../dialects/engines.js';
import type { DiagnosticList, SourcePosition } from './diagnostics.js';
import type { Environment } from '../util/environment.js';
import { type EmptyVariable, interpolateEnvironment } from './interpolate.js';
import {
  type AccountOptions,
  type CredentialSinks,
  DEFAULT_ACCOUNT_OPTIONS,
  type DeploymentConfig,
  deepFreeze,
  type EngineName,
  type MasterKeyRef,
  type MasterKeySource,
  type SecretColumns,
  type Target,
  type UrlSource,
} from './model.js';
import { invisibleCharacterProblem } from './names.js';
import { type ConfigInput, configSchema } from './schema.js';
import { type PathSegment, parseYaml, positionOf, toPlainValue, type YamlSource } from './yaml-source.js';
import { reportZodIssues } from './zod-issues.js';

export interface ParsedConfig {
  /** Policy paths are not resolved to files yet: that needs the file system. */
  readonly config: Omit<DeploymentConfig, 'policyFiles'>;
  /** Absolute policy paths as written (directories or files). */
  readonly policyPaths: readonly string[];
  readonly source: YamlSource;
}

export function parseConfig(
  file: string,
  text: string,
  env: Environment,
  diags: DiagnosticList,
): ParsedConfig | undefined {
  const before = diags.errors.length;
  const read = readConfigInput(file, text, env, diags);
  if (!read) return undefined;
  const { input, source, emptyVariables } = read;
  const dir = path.dirname(file);
  const targets = input.targets.map((t, i) =>
    toTarget(t, ['targets', i], { dir, source, diags, emptyVariables }),
  );
  checkUniqueTargetNames(input, source, diags);
  checkDistinctDatabases(targets, source, diags);
  const masterKey = input.masterKey && toMasterKeys(input.masterKey, dir, source, diags);
  const secrets = (input.secrets ?? []).map((s, i) => toSecretColumns(s, ['secrets', i], source, diags));
  checkCredentialSinks(input, source, diags);
  if (diags.errors.length > before) return undefined;
  const config = {
    file,
    app: input.app,
    targets,
    credentials: credentialSinks(input, dir),
    hardenPublic: input.hardenPublic ?? false,
    mysql: accountOptions(input),
    secrets,
    masterKey,
  };
  return { config: deepFreeze(config), policyPaths: policyPaths(input, dir), source };
}

/** The YAML parsed, `${VAR}`s replaced and checked against the schema; undefined once it reported why not. */
function readConfigInput(
  file: string,
  text: string,
  env: Environment,
  diags: DiagnosticList,
): { input: ConfigInput; source: YamlSource; emptyVariables: EmptyVariable[] } | undefined {
  const source = parseYaml(file, text, diags);
  if (!source) return undefined;
  const emptyVariables = interpolateEnvironment(source, env, diags);
  const value = toPlainValue(source, diags);
  if (value === undefined) return undefined;
  const parsed = configSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, configSchema, source, diags);
    return undefined;
  }
  return { input: parsed.data, source, emptyVariables };
}

/** A warning when no sink is configured (passwords go to ./credentials), and the Kubernetes sink's checks. */
function checkCredentialSinks(input: ConfigInput, source: YamlSource, diags: DiagnosticList): void {
  if (input.credentials?.dir === undefined && input.credentials?.kubernetes === undefined) {
    diags.warning(
      positionOf(source, input.credentials ? ['credentials'] : [], 'key'),
      'no credentials sink configured: generated passwords will be written to ./credentials',
      'set credentials.dir or credentials.kubernetes',
    );
  }
  if (input.credentials?.kubernetes !== undefined) checkKubernetesSink(input, source, diags);
}

function credentialSinks(input: ConfigInput, dir: string): CredentialSinks {
  const kubernetes = input.credentials?.kubernetes;
  return {
    // Only kubernetes: no files (a pod's root file system may well be read-only).
    dir:
      kubernetes !== undefined && input.credentials?.dir === undefined
        ? undefined
        : path.resolve(dir, input.credentials?.dir ?? 'credentials'),
    kubernetes: kubernetes && {
      namespace: kubernetes.namespace,
      secretName: kubernetes.secretName ?? DEFAULT_SECRET_NAME_PATTERN,
    },
  };
}

/** The `mysql:` account settings, each defaulted on its own. */
function accountOptions(input: ConfigInput): AccountOptions {
  return {
    host: input.mysql?.host ?? DEFAULT_ACCOUNT_OPTIONS.host,
    requireTls: input.mysql?.requireTls ?? DEFAULT_ACCOUNT_OPTIONS.requireTls,
    maxUserConnections: input.mysql?.maxUserConnections ?? DEFAULT_ACCOUNT_OPTIONS.maxUserConnections,
  };
}

/** `policies:` (one path or a list) resolved against the config file's directory. */
function policyPaths(input: ConfigInput, dir: string): string[] {
  return (Array.isArray(input.policies) ? input.policies : [input.policies]).map((p) => path.resolve(dir, p));
}

/** Where a problem with the Secret name pattern is shown: its value, or the `kubernetes` key when defaulted. */
export function secretNamePosition(source: YamlSource, written: boolean): SourcePosition {
  return written
    ? positionOf(source, ['credentials', 'kubernetes', 'secretName'])
    : positionOf(source, ['credentials', 'kubernetes'], 'key');
}

/**
 * `credentials.kubernetes`: the pattern names one Secret per component, and
 * makes a Kubernetes name with this app (each component's name is checked
 * with the policies, in checkDeployment); target names stay out of
 * dbwarden's `dbwarden.` key prefix.
 */
function checkKubernetesSink(input: ConfigInput, source: YamlSource, diags: DiagnosticList): void {
  const written = input.credentials?.kubernetes?.secretName;
  const pattern = written ?? DEFAULT_SECRET_NAME_PATTERN;
  const at = secretNamePosition(source, written !== undefined);
  if (!pattern.includes('{component}')) {
    diags.error(
      at,
      `secretName "${pattern}" does not contain {component}: every component would write the same Secret`,
      `for example: ${DEFAULT_SECRET_NAME_PATTERN}`,
    );
  } else {
    // A one-letter component shows what the pattern and the app alone make of a name.
    const sample = renderSecretName(pattern, input.app, 'x');
    const problem = secretNameProblem(sample);
    if (problem !== undefined) {
      diags.error(
        at,
        `secretName "${pattern}" makes Secret names like "${renderSecretName(pattern, input.app, '<component>')}" that are not valid: "${sample}" ${problem}`,
        pattern.includes('{app}') && /_/.test(input.app)
          ? `app "${input.app}" has "_", which Kubernetes names cannot hold: write the app's part of the name into secretName instead of {app}`
          : 'Secret names are lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters',
      );
    }
  }
  input.targets.forEach((t, i) => {
    if (t.name.startsWith('dbwarden.')) {
      diags.error(
        positionOf(source, ['targets', i, 'name']),
        `target name "${t.name}" starts with "dbwarden.", which the Kubernetes Secrets keep for dbwarden's own keys`,
        'rename the target',
      );
    }
  });
}

/** What checking one target needs besides the target itself. */
interface TargetContext {
  readonly dir: string;
  readonly source: YamlSource;
  readonly diags: DiagnosticList;
  readonly emptyVariables: readonly EmptyVariable[];
}

function toTarget(
  input: ConfigInput['targets'][number],
  at: readonly PathSegment[],
  context: TargetContext,
): Target {
  const url = targetUrl(input, at, context);
  const urlAt = positionOf(context.source, [...at, 'url']);
  // A missing ${VAR} was already reported here; "not a URL" would only repeat it.
  const fromScheme =
    url?.from === 'inline' && !context.diags.hasErrorAt(urlAt)
      ? checkInlineUrl(input, url.url, { at, urlAt, context })
      : undefined;
  const engine: EngineName | undefined = input.engine ?? fromScheme;
  return { name: input.name, kind: input.kind, engine, url: url ?? { from: 'inline', url: '' } };
}

/**
 * An inline admin URL: its scheme names a known engine that agrees with
 * `engine:`, and its options can be read. Returns the scheme's engine.
 * Never echoes the URL: it usually carries the admin password.
 */
function checkInlineUrl(
  input: ConfigInput['targets'][number],
  url: string,
  where: { at: readonly PathSegment[]; urlAt: SourcePosition; context: TargetContext },
): EngineName | undefined {
  const { urlAt, context } = where;
  const { diags, source } = context;
  const scheme = urlScheme(url);
  const fromScheme = scheme === undefined ? undefined : engineForScheme(scheme);
  const empty = emptyVariablesAt(context.emptyVariables, urlAt);
  const problem = adminUrlProblem(url);
  if (!fromScheme && empty.length > 0) {
    diags.error(
      urlAt,
      `target "${input.name}": url is ${url === '' ? 'empty' : 'not a URL'}: ${describeEmpty(empty)}`,
      `set ${empty.join(' and ')} to the admin URL (or its part), or give a default with \${${empty[0] ?? 'NAME'}:-...}`,
    );
  } else if (!fromScheme) {
    diags.error(
      urlAt,
      `target "${input.name}": url ${scheme ? `has the unsupported scheme "${scheme}"` : 'is not a URL'}`,
      `use one of: ${SUPPORTED_URL_SCHEMES.map((s) => `${s}://`).join(', ')}`,
    );
  } else if (problem !== undefined) {
    diags.error(urlAt, `target "${input.name}": ${problem.message}`, problem.hint);
  } else if (input.engine !== undefined && input.engine !== fromScheme) {
    diags.error(
      positionOf(source, [...where.at, 'engine']),
      `target "${input.name}": engine "${input.engine}" contradicts its ${scheme}:// url`,
      'remove engine: the url scheme names it',
    );
  }
  return fromScheme;
}

/** Names of the set-but-empty variables the value at `at` used. */
function emptyVariablesAt(empty: readonly EmptyVariable[], at: SourcePosition): string[] {
  const names = empty.filter((e) => e.at.line === at.line && e.at.col === at.col).map((e) => e.name);
  return [...new Set(names)];
}

function describeEmpty(names: readonly string[]): string {
  return names.length === 1
    ? `environment variable ${names[0] ?? ''} is set but empty`
    : `environment variables ${names.join(', ')} are set but empty`;
}

function targetUrl(
  input: ConfigInput['targets'][number],
  at: readonly PathSegment[],
  { dir, source, diags, emptyVariables }: TargetContext,
): UrlSource | undefined {
  if ((input.url === undefined) === (input.urlFile === undefined)) {
    diags.error(
      positionOf(source, at),
      `target "${input.name}" needs exactly one of url and urlFile`,
      'url: the admin URL (may use ${VAR}); urlFile: a file holding it',
    );
    return undefined;
  }
  if (input.url !== undefined) return { from: 'inline', url: input.url };
  if (input.urlFile === '') {
    const fileAt = positionOf(source, [...at, 'urlFile']);
    const empty = emptyVariablesAt(emptyVariables, fileAt);
    diags.error(
      fileAt,
      `target "${input.name}": urlFile is empty${empty.length > 0 ? `: ${describeEmpty(empty)}` : ''}`,
      'urlFile names the file that holds the admin URL',
    );
    return undefined;
  }
  return { from: 'file', path: path.resolve(dir, input.urlFile ?? '') };
}

function checkUniqueTargetNames(input: ConfigInput, source: YamlSource, diags: DiagnosticList): void {
  const seen = new Map<string, number>();
  input.targets.forEach((t, i) => {
    const first = seen.get(t.name);
    if (first === undefined) {
      seen.set(t.name, i);
      return;
    }
    diags.error(
      positionOf(source, ['targets', i, 'name']),
      `duplicate target name "${t.name}"`,
      'each target needs its own name',
      { label: 'first defined at', ...positionOf(source, ['targets', first, 'name']) },
    );
  });
}

/**
 * Two targets on one database would each take dbwarden's run lock there and
 * wait for the other until --lock-wait: refused, naming both. Inline URLs
 * only (a urlFile is read when a command runs, and checked then); compared
 * by server(s) and database, never credentials.
 */
function checkDistinctDatabases(targets: readonly Target[], source: YamlSource, diags: DiagnosticList): void {
  const first = new Map<string, number>();
  targets.forEach((target, i) => {
    if (target.url.from !== 'inline') return;
    const address = databaseAddress(target.url.url);
    if (address === undefined) return;
    const key = addressKey(address);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, i);
      return;
    }
    const other = targets[earlier]?.name ?? '';
    diags.error(
      positionOf(source, ['targets', i, 'url']),
      `targets "${other}" and "${target.name}" are the same ${describeAddress(address)}`,
      SAME_DATABASE_HINT,
      { label: `target "${other}" is at`, ...positionOf(source, ['targets', earlier, 'url']) },
    );
  });
}

function toMasterKeys(
  input: NonNullable<ConfigInput['masterKey']>,
  dir: string,
  source: YamlSource,
  diags: DiagnosticList,
): DeploymentConfig['masterKey'] {
  const file: KeyFileContext = { dir, source, diags };
  const current = toKeyRef(input.current, ['masterKey', 'current'], file);
  const previous = (input.previous ?? []).map((k, i) => toKeyRef(k, ['masterKey', 'previous', i], file));
  const ids = [input.current.id, ...(input.previous ?? []).map((k) => k.id)];
  ids.forEach((id, i) => {
    if (ids.indexOf(id) !== i) {
      diags.error(
        positionOf(source, ['masterKey', 'previous', i - 1, 'id']),
        `master key id "${id}" is used twice`,
        'every key, current and previous, needs its own id',
      );
    }
  });
  return current && { current, previous: previous.filter((k): k is MasterKeyRef => k !== undefined) };
}

/** The config file a key is read from: its directory (key files are relative to it), YAML and diagnostics. */
type KeyFileContext = Pick<TargetContext, 'dir' | 'source' | 'diags'>;

function toKeyRef(
  input: NonNullable<ConfigInput['masterKey']>['current'],
  at: readonly PathSegment[],
  { dir, source, diags }: KeyFileContext,
): MasterKeyRef | undefined {
  const sources: MasterKeySource[] = [];
  if (input.file !== undefined) sources.push({ from: 'file', path: path.resolve(dir, input.file) });
  if (input.env !== undefined) sources.push({ from: 'env', variable: input.env });
  if (input.kms !== undefined) sources.push({ from: 'kms', arn: input.kms });
  const [only] = sources;
  if (sources.length !== 1 || only === undefined) {
    diags.error(
      positionOf(source, at),
      `master key "${input.id}" needs exactly one of file, env and kms (found ${sources.length})`,
    );
    return undefined;
  }
  return { id: input.id, source: only };
}

function toSecretColumns(
  input: NonNullable<ConfigInput['secrets']>[number],
  at: readonly PathSegment[],
  source: YamlSource,
  diags: DiagnosticList,
): SecretColumns {
  const lookup = input.lookup ?? [];
  lookup.forEach((column, i) => {
    if (!input.columns.includes(column)) {
      diags.error(
        positionOf(source, [...at, 'lookup', i]),
        `lookup column "${column}" is not one of the encrypted columns`,
        `allowed: ${input.columns.join(', ')}`,
      );
    }
  });
  if (input.columns.includes(input.primaryKey)) {
    diags.error(
      positionOf(source, [...at, 'primaryKey']),
      `primary key "${input.primaryKey}" cannot also be an encrypted column`,
    );
  }
  input.columns.forEach((column, i) => {
    if (input.columns.indexOf(column) !== i) {
      diags.error(positionOf(source, [...at, 'columns', i]), `duplicate column "${column}"`);
    }
  });
  const names: [string, readonly PathSegment[]][] = [
    [input.table, [...at, 'table']],
    [input.primaryKey, [...at, 'primaryKey']],
    ...input.columns.map((c, i): [string, readonly PathSegment[]] => [c, [...at, 'columns', i]]),
  ];
  if (input.schema !== undefined) names.push([input.schema, [...at, 'schema']]);
  for (const [name, namePath] of names) {
    const problem = invisibleCharacterProblem(name);
    if (problem) diags.error(positionOf(source, namePath), `${JSON.stringify(name)} ${problem}`);
  }
  return {
    kind: input.kind,
    schema: input.schema,
    table: input.table,
    primaryKey: input.primaryKey,
    columns: input.columns,
    lookup,
  };
}
