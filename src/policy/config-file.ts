/**
 * The deployment config: YAML text -> validated, frozen DeploymentConfig.
 * Pure: the caller reads the file and lists policy directories.
 */
import path from 'node:path';
import { DEFAULT_ACCOUNT_OPTIONS } from '../dialects/dialect.js';
import { engineForScheme, SUPPORTED_URL_SCHEMES, urlScheme } from '../dialects/engines.js';
import type { DiagnosticList } from './diagnostics.js';
import { type Environment, interpolateEnvironment } from './interpolate.js';
import {
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

const DEFAULT_SECRET_NAME = '{app}-db-{component}';

export function parseConfig(
  file: string,
  text: string,
  env: Environment,
  diags: DiagnosticList,
): ParsedConfig | undefined {
  const before = diags.errors.length;
  const source = parseYaml(file, text, diags);
  if (!source) return undefined;
  interpolateEnvironment(source, env, diags);
  const value = toPlainValue(source, diags);
  if (value === undefined) return undefined;
  const parsed = configSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, configSchema, source, diags);
    return undefined;
  }
  const input = parsed.data;
  const dir = path.dirname(file);
  const targets = input.targets.map((t, i) => toTarget(t, ['targets', i], dir, source, diags));
  checkUniqueTargetNames(input, source, diags);
  const masterKey = input.masterKey && toMasterKeys(input.masterKey, dir, source, diags);
  const secrets = (input.secrets ?? []).map((s, i) => toSecretColumns(s, ['secrets', i], source, diags));
  if (input.credentials?.dir === undefined && input.credentials?.kubernetes === undefined) {
    diags.warning(
      positionOf(source, input.credentials ? ['credentials'] : [], 'key'),
      'no credentials sink configured: generated passwords will be written to ./credentials',
      'set credentials.dir or credentials.kubernetes',
    );
  }
  if (input.credentials?.kubernetes !== undefined && input.credentials.dir === undefined) {
    diags.warning(
      positionOf(source, ['credentials', 'kubernetes'], 'key'),
      'credentials.kubernetes is not supported by this version yet: passwords will be written to ./credentials',
      'set credentials.dir to choose where the credential files go',
    );
  }
  if (diags.errors.length > before) return undefined;
  const config = {
    file,
    app: input.app,
    targets,
    credentials: {
      dir: path.resolve(dir, input.credentials?.dir ?? 'credentials'),
      kubernetes: input.credentials?.kubernetes && {
        namespace: input.credentials.kubernetes.namespace,
        secretName: input.credentials.kubernetes.secretName ?? DEFAULT_SECRET_NAME,
      },
    },
    hardenPublic: input.hardenPublic ?? false,
    mysql: {
      host: input.mysql?.host ?? DEFAULT_ACCOUNT_OPTIONS.host,
      requireTls: input.mysql?.requireTls ?? DEFAULT_ACCOUNT_OPTIONS.requireTls,
      maxUserConnections: input.mysql?.maxUserConnections ?? DEFAULT_ACCOUNT_OPTIONS.maxUserConnections,
    },
    secrets,
    masterKey,
  };
  const policyPaths = (Array.isArray(input.policies) ? input.policies : [input.policies]).map((p) =>
    path.resolve(dir, p),
  );
  return { config: deepFreeze(config), policyPaths, source };
}

function toTarget(
  input: ConfigInput['targets'][number],
  at: readonly PathSegment[],
  dir: string,
  source: YamlSource,
  diags: DiagnosticList,
): Target {
  const url = targetUrl(input, at, dir, source, diags);
  let engine: EngineName | undefined = input.engine;
  const urlAt = positionOf(source, [...at, 'url']);
  // A missing ${VAR} was already reported here; "not a URL" would only repeat it.
  if (url?.from === 'inline' && !diags.hasErrorAt(urlAt)) {
    const scheme = urlScheme(url.url);
    const fromScheme = scheme === undefined ? undefined : engineForScheme(scheme);
    if (!fromScheme) {
      // Never echo the URL: it usually carries the admin password.
      diags.error(
        urlAt,
        `target "${input.name}": url ${scheme ? `has the unsupported scheme "${scheme}"` : 'is not a URL'}`,
        `use one of: ${SUPPORTED_URL_SCHEMES.map((s) => `${s}://`).join(', ')}`,
      );
    } else if (engine !== undefined && engine !== fromScheme) {
      diags.error(
        positionOf(source, [...at, 'engine']),
        `target "${input.name}": engine "${engine}" contradicts its ${scheme}:// url`,
        'remove engine: the url scheme names it',
      );
    }
    engine ??= fromScheme;
  }
  return { name: input.name, kind: input.kind, engine, url: url ?? { from: 'inline', url: '' } };
}

function targetUrl(
  input: ConfigInput['targets'][number],
  at: readonly PathSegment[],
  dir: string,
  source: YamlSource,
  diags: DiagnosticList,
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

function toMasterKeys(
  input: NonNullable<ConfigInput['masterKey']>,
  dir: string,
  source: YamlSource,
  diags: DiagnosticList,
): DeploymentConfig['masterKey'] {
  const current = toKeyRef(input.current, ['masterKey', 'current'], dir, source, diags);
  const previous = (input.previous ?? []).map((k, i) =>
    toKeyRef(k, ['masterKey', 'previous', i], dir, source, diags),
  );
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

function toKeyRef(
  input: NonNullable<ConfigInput['masterKey']>['current'],
  at: readonly PathSegment[],
  dir: string,
  source: YamlSource,
  diags: DiagnosticList,
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
