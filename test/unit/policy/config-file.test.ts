/**
 * The deployment config from YAML text (parseConfig), and the rules that need
 * the config and every policy together (checkDeployment). Pure: the file
 * names are only labels and paths to resolve; nothing is read.
 */
import { describe, expect, it } from 'vitest';
import { type ParsedConfig, parseConfig } from '../../../src/policy/config-file.js';
import { checkDeployment } from '../../../src/policy/deployment.js';
import { type Diagnostic, DiagnosticList } from '../../../src/policy/diagnostics.js';
import type { Environment } from '../../../src/util/environment.js';
import { type ParsedPolicy, parsePolicy } from '../../../src/policy/policy-file.js';

const CONFIG = '/srv/shop/deploy/dbwarden.yaml';
const POLICY_DIR = '/srv/shop/policies';

/** Lines joined with newlines, so a test reads with its line numbers. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function parse(text: string, env: Environment = {}) {
  const diags = new DiagnosticList();
  const parsed = parseConfig(CONFIG, text, env, diags);
  return { parsed, errors: diags.errors, warnings: diags.warnings, all: diags.sorted() };
}

/** A config with `app: shop`, a credentials dir and the given lines from line 3 on. */
const config = (...lines: string[]) =>
  yaml('app: shop', 'policies: ../policies', ...lines, 'credentials:', '  dir: ./credentials');

const target = (name: string, kind: string, url: string) => [
  `  - name: ${name}`,
  `    kind: ${kind}`,
  `    url: ${url}`,
];

const error = (line: number, col: number, message: string, hint?: string): Diagnostic => ({
  severity: 'error',
  file: CONFIG,
  line,
  col,
  message,
  ...(hint === undefined ? {} : { hint }),
});

describe('a valid config', () => {
  const text = yaml(
    'app: shop',
    'policies: ../policies',
    'targets:',
    ...target('orders', 'main', 'postgres://admin@db:5432/orders'),
    ...target('orders_pg', 'main', 'postgresql://admin@db/orders2'),
    ...target('reports', 'reports', 'mysql://root@mysql/reports'),
    ...target('legacy', 'reports', 'mariadb://root@maria/legacy'),
    '  - name: vault-db',
    '    kind: main',
    '    urlFile: ../secrets/vault-url',
    '    engine: mysql',
    '  - name: unknown-engine',
    '    kind: main',
    '    urlFile: /run/secrets/url',
    'credentials:',
    '  dir: ./credentials',
    '  kubernetes: { namespace: shop }',
    'secrets:',
    '  - kind: main',
    '    table: api_keys',
    '    primaryKey: id',
    '    columns: [access_key, secret_key]',
    '    lookup: [access_key]',
    'masterKey:',
    '  current: { id: k3, file: keys/k3 }',
    '  previous:',
    '    - { id: k2, env: SHOP_MASTER_KEY_K2 }',
    '    - { id: k1, kms: "arn:aws:kms:eu-west-1:111122223333:key/k1" }',
  );

  it('parses without problems', () => {
    const { parsed, all } = parse(text);
    expect(all).toEqual([]);
    expect(parsed?.config.app).toBe('shop');
    expect(parsed?.config.file).toBe(CONFIG);
  });

  it('knows each engine from its URL scheme, an explicit engine, or not at all for a bare urlFile', () => {
    const targets = parse(text).parsed?.config.targets;
    expect(targets?.map((t) => [t.name, t.kind, t.engine])).toEqual([
      ['orders', 'main', 'postgres'],
      ['orders_pg', 'main', 'postgres'],
      ['reports', 'reports', 'mysql'],
      ['legacy', 'reports', 'mysql'],
      ['vault-db', 'main', 'mysql'],
      ['unknown-engine', 'main', undefined],
    ]);
    expect(targets?.[0]?.url).toEqual({ from: 'inline', url: 'postgres://admin@db:5432/orders' });
  });

  it('resolves relative paths against the config file directory, not the working directory', () => {
    const { parsed } = parse(text);
    expect(parsed?.policyPaths).toEqual(['/srv/shop/policies']);
    expect(parsed?.config.credentials.dir).toBe('/srv/shop/deploy/credentials');
    expect(parsed?.config.targets[4]?.url).toEqual({ from: 'file', path: '/srv/shop/secrets/vault-url' });
    expect(parsed?.config.targets[5]?.url).toEqual({ from: 'file', path: '/run/secrets/url' });
    expect(parsed?.config.masterKey?.current).toEqual({
      id: 'k3',
      source: { from: 'file', path: '/srv/shop/deploy/keys/k3' },
    });
  });

  it('resolves every entry of a policies list, keeping absolute ones', () => {
    const { parsed } = parse(
      yaml(
        'app: shop',
        'policies: [web.yaml, ./p/worker.yml, ../../common/cron.yaml, /etc/dbwarden/extra.yaml]',
        'targets:',
        ...target('orders', 'main', 'postgres://db/orders'),
        'credentials: { dir: /var/lib/dbwarden }',
      ),
    );
    expect(parsed?.policyPaths).toEqual([
      '/srv/shop/deploy/web.yaml',
      '/srv/shop/deploy/p/worker.yml',
      '/srv/common/cron.yaml',
      '/etc/dbwarden/extra.yaml',
    ]);
    expect(parsed?.config.credentials.dir).toBe('/var/lib/dbwarden');
  });

  it('reads master keys from a file, an environment variable or KMS', () => {
    expect(parse(text).parsed?.config.masterKey?.previous).toEqual([
      { id: 'k2', source: { from: 'env', variable: 'SHOP_MASTER_KEY_K2' } },
      { id: 'k1', source: { from: 'kms', arn: 'arn:aws:kms:eu-west-1:111122223333:key/k1' } },
    ]);
  });

  it('fills in the Kubernetes secret name pattern and keeps the secrets entries', () => {
    const config = parse(text).parsed?.config;
    expect(config?.credentials.kubernetes).toEqual({ namespace: 'shop', secretName: '{app}-db-{component}' });
    expect(config?.secrets).toEqual([
      {
        kind: 'main',
        schema: undefined,
        table: 'api_keys',
        primaryKey: 'id',
        columns: ['access_key', 'secret_key'],
        lookup: ['access_key'],
      },
    ]);
  });

  it('is deeply frozen', () => {
    const config = parse(text).parsed?.config;
    for (const part of [
      config,
      config?.targets,
      config?.targets[0],
      config?.targets[0]?.url,
      config?.credentials,
      config?.secrets[0]?.columns,
      config?.masterKey?.previous,
      config?.masterKey?.current.source,
    ]) {
      expect(part).toBeDefined();
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it('warns, without failing, when no credentials sink is configured', () => {
    const { parsed, errors, warnings } = parse(
      yaml('app: shop', 'policies: p', 'targets:', ...target('orders', 'main', 'postgres://db/orders')),
    );
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      {
        severity: 'warning',
        file: CONFIG,
        line: 1,
        col: 1,
        message: 'no credentials sink configured: generated passwords will be written to ./credentials',
        hint: 'set credentials.dir or credentials.kubernetes',
      },
    ]);
    expect(parsed?.config.credentials.dir).toBe('/srv/shop/deploy/credentials');
  });

  it('takes credentials.kubernetes without a warning, and no directory then', () => {
    const { errors, warnings } = parse(
      yaml(
        'app: shop',
        'policies: p',
        'targets:',
        ...target('orders', 'main', 'postgres://db/orders'),
        'credentials:',
        '  kubernetes: { namespace: shop }',
      ),
    );
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

describe('unknown keys', () => {
  it('suggest the key meant, at the top level and in a target', () => {
    const { parsed, errors } = parse(
      yaml(
        'app: shop',
        'policies: p',
        'targets:',
        '  - name: orders',
        '    kind: main',
        '    urlfile: ./url',
        'credentails:',
        '  dir: x',
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        6,
        5,
        'unknown key "urlfile"',
        'did you mean "urlFile"? allowed: name, kind, url, urlFile, engine',
      ),
      error(
        7,
        1,
        'unknown key "credentails"',
        'did you mean "credentials"? allowed: app, policies, targets, credentials, hardenPublic, mysql, secrets, masterKey',
      ),
    ]);
  });
});

describe('environment interpolation', () => {
  const dirConfig = (dir: string) =>
    yaml(
      'app: shop',
      'policies: p',
      'targets:',
      ...target('orders', 'main', 'postgres://db/o'),
      `credentials: { dir: "${dir}" }`,
    );
  const dirOf = (dir: string, env: Environment) => parse(dirConfig(dir), env).parsed?.config.credentials.dir;

  it('replaces ${VAR} from the environment', () => {
    const { parsed, all } = parse(config('targets:', ...target('orders', 'main', '${ORDERS_URL}')), {
      ORDERS_URL: 'postgres://admin:pw@db/orders',
    });
    expect(all).toEqual([]);
    expect(parsed?.config.targets[0]?.url).toEqual({ from: 'inline', url: 'postgres://admin:pw@db/orders' });
    expect(parsed?.config.targets[0]?.engine).toBe('postgres');
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty, and the value when set', () => {
    const text = config(
      'targets:',
      ...target('orders', 'main', '${ORDERS_URL:-mysql://root@localhost/orders}'),
    );
    const urlWith = (env: Environment) => parse(text, env).parsed?.config.targets[0]?.url;
    expect(urlWith({})).toEqual({ from: 'inline', url: 'mysql://root@localhost/orders' });
    expect(urlWith({ ORDERS_URL: '' })).toEqual({ from: 'inline', url: 'mysql://root@localhost/orders' });
    expect(urlWith({ ORDERS_URL: 'postgres://db/o' })).toEqual({ from: 'inline', url: 'postgres://db/o' });
  });

  it('reads $$ as a literal $ and replaces several references in one value', () => {
    expect(dirOf('/data/$${APP}-$$HOME', {})).toBe('/data/${APP}-$HOME');
    expect(dirOf('/${ROOT}/${APP:-shop}/creds', { ROOT: 'srv' })).toBe('/srv/shop/creds');
  });

  it('does not interpolate a value that came from the environment again', () => {
    expect(dirOf('/data/${D}', { D: '${SECRET}', SECRET: 'leaked' })).toBe('/data/${SECRET}');
  });

  it('accepts a variable that is set but empty, without a default', () => {
    expect(dirOf('/data${SUFFIX}', { SUFFIX: '' })).toBe('/data');
  });

  it('reports a missing variable at the value line:col, naming the variable', () => {
    const { parsed, errors } = parse(config('targets:', ...target('orders', 'main', '${ORDERS_ADMIN_URL}')));
    expect(parsed).toBeUndefined();
    expect(errors[0]).toEqual(
      error(
        6,
        10,
        'environment variable ORDERS_ADMIN_URL is not set',
        'set ORDERS_ADMIN_URL, or give a default with ${ORDERS_ADMIN_URL:-default}',
      ),
    );
  });

  it('reports a missing variable in any value, and then returns no config', () => {
    const { parsed, errors } = parse(dirConfig('/data/${CREDENTIALS_DIR}'));
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        7,
        21,
        'environment variable CREDENTIALS_DIR is not set',
        'set CREDENTIALS_DIR, or give a default with ${CREDENTIALS_DIR:-default}',
      ),
    ]);
  });

  it('reports an unterminated reference and a malformed one', () => {
    expect(parse(dirConfig('/data/${APP')).errors).toEqual([
      error(7, 21, 'unterminated "${": expected ${NAME} or ${NAME:-default}', 'write $$ for a literal $'),
    ]);
    expect(parse(dirConfig('/data/${1APP}')).errors).toEqual([
      error(
        7,
        21,
        'invalid environment reference: expected ${NAME} or ${NAME:-default}',
        'NAME is letters, digits and _, not starting with a digit; write $$ for a literal $',
      ),
    ]);
  });

  it('refuses references in keys', () => {
    const { errors } = parse(
      config('targets:', ...target('orders', 'main', 'postgres://db/o'), '${EXTRA}: 1'),
    );
    expect(errors).toContainEqual(
      error(7, 1, 'environment references are allowed in values only, not in keys'),
    );
  });
});

describe('secrets in URLs never reach a diagnostic', () => {
  const PASSWORD = 's3cr3t';
  const noSecret = (diagnostics: readonly Diagnostic[]) => {
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(JSON.stringify(diagnostics)).not.toContain(PASSWORD);
  };

  it('names an unsupported scheme, not the URL', () => {
    const { parsed, errors, all } = parse(
      config('targets:', ...target('orders', 'main', `mysqlx://admin:${PASSWORD}@h/db`)),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        6,
        10,
        'target "orders": url has the unsupported scheme "mysqlx"',
        'use one of: postgres://, postgresql://, mysql://, mariadb://',
      ),
    ]);
    noSecret(all);
  });

  it('says "not a URL" without echoing the value', () => {
    const { errors, all } = parse(config('targets:', ...target('orders', 'main', `admin:${PASSWORD}@h/db`)));
    expect(errors).toEqual([
      error(
        6,
        10,
        'target "orders": url is not a URL',
        'use one of: postgres://, postgresql://, mysql://, mariadb://',
      ),
    ]);
    noSecret(all);
  });

  it('keeps a URL that came from the environment out of the message', () => {
    const { errors, all } = parse(config('targets:', ...target('orders', 'main', '${ORDERS_URL}')), {
      ORDERS_URL: `mysqlx://admin:${PASSWORD}@h/db`,
    });
    expect(errors.map((e) => e.message)).toEqual([
      'target "orders": url has the unsupported scheme "mysqlx"',
    ]);
    noSecret(all);
  });

  it('does not echo a malformed reference whose default holds a password', () => {
    const { errors, all } = parse(
      config('targets:', ...target('orders', 'main', `\${1URL:-postgres://admin:${PASSWORD}@h/db}`)),
    );
    expect(errors[0]).toMatchObject({ line: 6, col: 10 });
    expect(errors[0]?.message).toBe('invalid environment reference: expected ${NAME} or ${NAME:-default}');
    noSecret(all);
  });

  it('does not echo the URL of a target whose engine contradicts it', () => {
    const { errors, all } = parse(
      config(
        'targets:',
        ...target('orders', 'main', `postgres://admin:${PASSWORD}@h/db`),
        '    engine: mysql',
      ),
    );
    expect(errors).toEqual([
      error(
        7,
        13,
        'target "orders": engine "mysql" contradicts its postgres:// url',
        'remove engine: the url scheme names it',
      ),
    ]);
    noSecret(all);
  });

  it('does not echo a URL given where a mapping was expected', () => {
    const { all } = parse(config(`targets: postgres://admin:${PASSWORD}@h/db`));
    expect(all).toContainEqual(error(3, 10, 'expected a list, found a string'));
    noSecret(all);
  });
});

describe('targets', () => {
  it('need exactly one of url and urlFile', () => {
    const both = parse(
      config('targets:', ...target('orders', 'main', 'postgres://db/o'), '    urlFile: ./orders-url'),
    );
    expect(both.parsed).toBeUndefined();
    const message = 'target "orders" needs exactly one of url and urlFile';
    const hint = 'url: the admin URL (may use ${VAR}); urlFile: a file holding it';
    expect(both.errors).toEqual([error(4, 5, message, hint)]);
    const neither = parse(config('targets:', '  - name: orders', '    kind: main'));
    expect(neither.errors).toEqual([error(4, 5, message, hint)]);
  });

  it('need distinct names, naming the first one', () => {
    const { parsed, errors } = parse(
      config(
        'targets:',
        ...target('orders', 'main', 'postgres://db/o'),
        ...target('reports', 'main', 'postgres://db/r'),
        ...target('orders', 'api', 'postgres://db/o2'),
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      {
        ...error(10, 11, 'duplicate target name "orders"', 'each target needs its own name'),
        related: { label: 'first defined at', file: CONFIG, line: 4, col: 11 },
      },
    ]);
  });

  it('need at least one entry', () => {
    expect(parse(config('targets: []')).errors).toEqual([error(3, 10, 'list at least one target')]);
  });
});

describe('master keys', () => {
  const withKeys = (...lines: string[]) =>
    config('targets:', ...target('orders', 'main', 'postgres://db/o'), 'masterKey:', ...lines);

  it.each([
    ['none', '{ id: k2 }', 0],
    ['a file and an env variable', '{ id: k2, file: ./k2, env: K2 }', 2],
    ['all three', '{ id: k2, file: ./k2, env: K2, kms: "arn:aws:kms:x" }', 3],
  ])('refuse a key with %s of file, env and kms', (_what, key, found) => {
    const { parsed, errors } = parse(withKeys(`  current: ${key}`));
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(8, 12, `master key "k2" needs exactly one of file, env and kms (found ${found})`),
    ]);
  });

  it('check previous keys the same way', () => {
    const { errors } = parse(withKeys('  current: { id: k2, env: K2 }', '  previous:', '    - { id: k1 }'));
    expect(errors).toEqual([
      error(10, 7, 'master key "k1" needs exactly one of file, env and kms (found 0)'),
    ]);
  });

  it('refuse an id used twice, by a previous key and the current one or by two previous keys', () => {
    const { errors } = parse(
      withKeys(
        '  current: { id: k3, file: ./k3 }',
        '  previous:',
        '    - { id: k2, file: ./k2 }',
        '    - { id: k3, file: ./k3-old }',
        '    - { id: k2, env: OLD_K2 }',
      ),
    );
    const hint = 'every key, current and previous, needs its own id';
    expect(errors).toEqual([
      error(11, 13, 'master key id "k3" is used twice', hint),
      error(12, 13, 'master key id "k2" is used twice', hint),
    ]);
  });

  it('refuse a malformed key id and env variable name', () => {
    const { errors } = parse(withKeys('  current: { id: "k 2", env: "2KEY" }'));
    expect(errors).toEqual([
      error(8, 18, 'invalid value "k 2": key id must be letters, digits, _, . and -'),
      error(8, 30, 'invalid value "2KEY": env must name an environment variable'),
    ]);
  });
});

describe('secrets entries', () => {
  const withSecrets = (...lines: string[]) =>
    config(
      'targets:',
      ...target('orders', 'main', 'postgres://db/o'),
      'secrets:',
      '  - kind: main',
      ...lines,
    );

  it('refuse lookup columns that are not among the encrypted columns', () => {
    const { parsed, errors } = parse(
      withSecrets(
        '    table: api_keys',
        '    primaryKey: id',
        '    columns: [access_key, secret_key]',
        '    lookup: [access_key, acces_key]',
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        12,
        26,
        'lookup column "acces_key" is not one of the encrypted columns',
        'allowed: access_key, secret_key',
      ),
    ]);
  });

  it('refuse an encrypted primary key, a column listed twice and an invisible character', () => {
    const { errors } = parse(
      withSecrets(
        '    table: "api\\u200Bkeys"',
        '    primaryKey: id',
        '    columns: [id, secret_key, secret_key]',
      ),
    );
    expect(errors).toEqual([
      error(9, 12, '"api\\u200bkeys" contains the control or invisible character U+200B'),
      error(10, 17, 'primary key "id" cannot also be an encrypted column'),
      error(11, 31, 'duplicate column "secret_key"'),
    ]);
  });

  it('need at least one column', () => {
    const { errors } = parse(withSecrets('    table: t', '    primaryKey: id', '    columns: []'));
    expect(errors).toEqual([error(11, 14, 'list at least one column to encrypt')]);
  });
});

describe('every problem of a config at once', () => {
  it('reports problems found at different stages together, sorted by line', () => {
    const { errors } = parse(
      yaml(
        'app: Shop',
        'policies: p',
        'targets:',
        ...target('orders', 'main', '${MISSING_URL}'),
        '    engine: oracle',
        'masterKey:',
        '  current: { id: k1 }',
      ),
    );
    expect(errors.map((e) => [e.line, e.col, e.message])).toEqual([
      [1, 6, 'invalid value "Shop": app must be lowercase letters, digits and _, starting with a letter'],
      [6, 10, 'environment variable MISSING_URL is not set'],
      [7, 13, 'unknown value "oracle"'],
    ]);
  });
});

// ---------------------------------------------------------------------------
// checkDeployment: rules that need the config and every policy together.

interface PolicyText {
  readonly file: string;
  readonly text: string;
}

function deploy(configText: string, policies: readonly PolicyText[]) {
  const diags = new DiagnosticList();
  const parsedConfig = parseConfig(CONFIG, configText, {}, diags);
  const parsedPolicies = policies
    .map((p) => parsePolicy(p.file, p.text, diags))
    .filter((p): p is ParsedPolicy => p !== undefined);
  expect(diags.errors, 'the inputs themselves must parse').toEqual([]);
  const files = policies.map((p) => p.file);
  const deployment = checkDeployment(parsedConfig as ParsedConfig, files, parsedPolicies, diags);
  return { deployment, errors: diags.errors, warnings: diags.warnings };
}

/** A config with one target per `kind: scheme` pair, and app `app`. */
const deploymentConfig = (targets: Record<string, string>, app = 'shop', extra: string[] = []) =>
  yaml(
    `app: ${app}`,
    'policies: ../policies',
    'targets:',
    ...Object.entries(targets).flatMap(([name, url]) => target(name, name.replace(/_.*/, ''), url)),
    'credentials: { dir: ./credentials }',
    ...extra,
  );

const policy = (file: string, component: string, ...databaseLines: string[]): PolicyText => ({
  file: `${POLICY_DIR}/${file}`,
  text: yaml(
    `component: ${component}`,
    ...(databaseLines.length > 0 ? ['databases:', ...databaseLines] : []),
  ),
});

/** A policy granting select on one table of kind `main`. */
const oneTable = (table: string, component = 'web', file = 'web.yaml') =>
  policy(file, component, '  main:', '    tables:', `      ${JSON.stringify(table)}: [select]`);

const PG = { main: 'postgres://admin@db/shop' };
const MY = { main: 'mysql://root@db/shop' };

describe('checkDeployment: database kinds', () => {
  it('refuses a policy kind that no target has, at the kind key', () => {
    const { deployment, errors, warnings } = deploy(deploymentConfig(PG), [
      policy(
        'web.yaml',
        'web',
        '  main:',
        '    tables:',
        '      t: [select]',
        '  billing:',
        '    tables:',
        '      invoices: [select]',
      ),
    ]);
    expect(deployment).toBeUndefined();
    expect(errors).toEqual([
      {
        severity: 'error',
        file: `${POLICY_DIR}/web.yaml`,
        line: 6,
        col: 3,
        message: 'database kind "billing" has no target',
        hint: 'add a target with kind: billing, or use one of: main',
        related: { label: 'targets are listed at', file: CONFIG, line: 3, col: 1 },
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('only warns about a target kind that no policy uses, and still returns the deployment', () => {
    const { deployment, errors, warnings } = deploy(
      deploymentConfig({ main: 'postgres://db/shop', archive: 'postgres://db/archive' }),
      [oneTable('orders')],
    );
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      {
        severity: 'warning',
        file: CONFIG,
        line: 8,
        col: 11,
        message:
          'target "archive" has kind "archive", which no policy uses: dbwarden will grant nothing there',
      },
    ]);
    expect(deployment).toBeDefined();
  });

  it('counts a kind used only by a secrets entry as used, and refuses a secrets kind without target', () => {
    const secrets = (kind: string) => [
      'secrets:',
      `  - kind: ${kind}`,
      '    table: keys',
      '    primaryKey: id',
      '    columns: [secret]',
    ];
    const used = deploy(
      deploymentConfig(
        { main: 'postgres://db/shop', vault: 'postgres://db/vault' },
        'shop',
        secrets('vault'),
      ),
      [oneTable('orders')],
    );
    expect(used.warnings).toEqual([]);
    expect(used.errors).toEqual([]);
    const missing = deploy(deploymentConfig(PG, 'shop', secrets('vault')), [oneTable('orders')]);
    expect(missing.errors).toEqual([
      error(
        9,
        11,
        'secrets entry for table "keys" names kind "vault", which no target has',
        'use one of: main',
      ),
    ]);
  });
});

describe('checkDeployment: duplicate components', () => {
  it('names both files and places', () => {
    const { deployment, errors } = deploy(deploymentConfig(PG), [
      oneTable('orders', 'web', 'web.yaml'),
      { file: `${POLICY_DIR}/web-copy.yaml`, text: yaml('# a copy', 'component: web') },
    ]);
    expect(deployment).toBeUndefined();
    expect(errors).toEqual([
      {
        severity: 'error',
        file: `${POLICY_DIR}/web-copy.yaml`,
        line: 2,
        col: 12,
        message: 'duplicate component "web"',
        hint: 'each component needs exactly one policy file',
        related: { label: 'first defined at', file: `${POLICY_DIR}/web.yaml`, line: 1, col: 12 },
      },
    ]);
  });
});

describe('checkDeployment: names the target engines cannot hold', () => {
  const at = (line: number, col: number, message: string, file = `${POLICY_DIR}/web.yaml`) => ({
    severity: 'error',
    file,
    line,
    col,
    message,
  });
  const T64 = 't'.repeat(64);

  it('a 64-character table name is too long for PostgreSQL (63 bytes) but fine for MySQL (64 characters)', () => {
    expect(deploy(deploymentConfig(PG), [oneTable(T64)]).errors).toEqual([
      at(5, 7, `name "${T64}" is 64 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`),
    ]);
    const mysql = deploy(deploymentConfig(MY), [oneTable(T64)]);
    expect(mysql.errors).toEqual([]);
    expect(mysql.deployment).toBeDefined();
  });

  it('a 63-byte name fits PostgreSQL, a 65-character one does not fit MySQL', () => {
    expect(deploy(deploymentConfig(PG), [oneTable('t'.repeat(63))]).errors).toEqual([]);
    const t65 = 't'.repeat(65);
    expect(deploy(deploymentConfig(MY), [oneTable(t65)]).errors).toEqual([
      at(5, 7, `name "${t65}" is 65 characters; MySQL/MariaDB names hold at most 64`),
    ]);
  });

  it('counts PostgreSQL in bytes: 32 × "é" is 64 bytes, too long there, but 32 characters on MySQL', () => {
    const name = 'é'.repeat(32);
    expect(deploy(deploymentConfig(PG), [oneTable(name)]).errors).toEqual([
      at(5, 7, `name "${name}" is 64 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`),
    ]);
    expect(deploy(deploymentConfig(MY), [oneTable(name)]).errors).toEqual([]);
  });

  it('refuses a supplementary-plane character (emoji) on MySQL only', () => {
    expect(deploy(deploymentConfig(PG), [oneTable('orders_😀')]).errors).toEqual([]);
    expect(deploy(deploymentConfig(MY), [oneTable('orders_😀')]).errors).toEqual([
      at(
        5,
        7,
        'name "orders_😀" contains a character outside the Basic Multilingual Plane, which MySQL/MariaDB identifiers cannot hold',
      ),
    ]);
  });

  it('refuses a trailing space on MySQL only', () => {
    expect(deploy(deploymentConfig(PG), [oneTable('orders ')]).errors).toEqual([]);
    expect(deploy(deploymentConfig(MY), [oneTable('orders ')]).errors).toEqual([
      at(5, 7, 'name "orders " ends with a space, which MySQL/MariaDB names cannot'),
    ]);
  });

  it('checks a kind served by both engines against both', () => {
    const both = { main_pg: 'postgres://db/shop', main_my: 'mysql://db/shop' };
    const name = 'é'.repeat(33);
    expect(deploy(deploymentConfig(both), [oneTable(name)]).errors).toEqual([
      at(5, 7, `name "${name}" is 66 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`),
    ]);
    expect(deploy(deploymentConfig(both), [oneTable('x ')]).errors).toHaveLength(1);
  });

  it('checks against every engine when a target engine is unknown (urlFile without engine)', () => {
    const text = yaml(
      'app: shop',
      'policies: p',
      'targets:',
      '  - name: main',
      '    kind: main',
      '    urlFile: ./main-url',
      'credentials: { dir: c }',
    );
    const { errors } = deploy(text, [oneTable('orders ')]);
    expect(errors.map((e) => e.message)).toEqual([
      'name "orders " ends with a space, which MySQL/MariaDB names cannot',
    ]);
    expect(deploy(text, [oneTable(T64)]).errors).toHaveLength(1);
  });

  it('points at a column or schema name that is too long', () => {
    const column = 'c'.repeat(64);
    const schema = 's'.repeat(64);
    const { errors } = deploy(deploymentConfig(PG), [
      policy(
        'web.yaml',
        'web',
        '  main:',
        `    schema: ${schema}`,
        '    tables:',
        '      orders:',
        `        select: [id, ${column}]`,
        `        update: [${column}]`,
      ),
    ]);
    const problem = 'is 64 bytes in UTF-8; PostgreSQL names hold at most 63 bytes';
    expect(errors).toEqual([
      at(4, 13, `name "${schema}" ${problem}`),
      at(7, 22, `name "${column}" ${problem}`),
      at(8, 18, `name "${column}" ${problem}`),
    ]);
  });

  it('checks the names of secrets entries', () => {
    const table = 't'.repeat(64);
    const extra = [
      'secrets:',
      '  - kind: main',
      `    table: ${table}`,
      '    primaryKey: id',
      '    columns: [secret]',
    ];
    const { errors } = deploy(deploymentConfig(PG, 'shop', extra), [oneTable('orders')]);
    expect(errors).toEqual([
      error(10, 12, `name "${table}" is 64 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`),
    ]);
  });

  it('refuses role names over MySQL 32 characters, which PostgreSQL accepts', () => {
    // shop_inventory_reconciler is 25 characters; with _role, 30: fine. With app `shopfront`, 35.
    const component = 'inventory_reconciler';
    const pol = oneTable('orders', component);
    expect(deploy(deploymentConfig(MY, 'shop'), [pol]).errors).toEqual([]);
    expect(deploy(deploymentConfig(PG, 'shopfront'), [pol]).errors).toEqual([]);
    expect(deploy(deploymentConfig(MY, 'shopfront'), [pol]).errors).toEqual([
      {
        severity: 'error',
        file: `${POLICY_DIR}/web.yaml`,
        line: 1,
        col: 12,
        message:
          'role name "shopfront_inventory_reconciler_role" is 35 characters; MySQL user and role names hold at most 32',
        hint: 'shorten the app or component name',
      },
    ]);
  });

  it('refuses role names over 63 bytes on PostgreSQL, naming the login and the grant role', () => {
    const component = 'c'.repeat(48);
    const app = 'a'.repeat(15);
    const { errors } = deploy(deploymentConfig(PG, app), [oneTable('orders', component)]);
    expect(errors.map((e) => e.message)).toEqual([
      `role name "${app}_${component}" is 64 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`,
      `role name "${app}_${component}_role" is 69 bytes in UTF-8; PostgreSQL names hold at most 63 bytes`,
    ]);
  });

  it('does not check role names of a component without databases: it gets no login', () => {
    const { errors } = deploy(deploymentConfig(MY, 'shopfront_and_more'), [
      oneTable('orders'),
      policy('cron.yaml', 'very_long_component_name'),
    ]);
    expect(errors).toEqual([]);
  });
});

describe('checkDeployment: the result', () => {
  it('holds the config with its policy files and the policies sorted by component, frozen', () => {
    const files = [oneTable('orders', 'worker', 'worker.yaml'), oneTable('orders', 'api', 'api.yaml')];
    const { deployment, errors } = deploy(deploymentConfig(PG), files);
    expect(errors).toEqual([]);
    expect(deployment?.policies.map((p) => p.component)).toEqual(['api', 'worker']);
    expect(deployment?.config.policyFiles).toEqual([`${POLICY_DIR}/worker.yaml`, `${POLICY_DIR}/api.yaml`]);
    expect(deployment?.config.app).toBe('shop');
    expect(Object.isFrozen(deployment)).toBe(true);
    expect(Object.isFrozen(deployment?.config)).toBe(true);
    expect(Object.isFrozen(deployment?.policies)).toBe(true);
    expect(Object.isFrozen(deployment?.policies[0]?.databases[0]?.tables)).toBe(true);
  });
});

describe('a variable that is set but empty', () => {
  it('is named, with file:line:col, when the url it makes is empty', () => {
    const { parsed, errors } = parse(config('targets:', ...target('nova', 'main', '${NOVA_URL}')), {
      NOVA_URL: '',
    });
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        6,
        10,
        'target "nova": url is empty: environment variable NOVA_URL is set but empty',
        'set NOVA_URL to the admin URL (or its part), or give a default with ${NOVA_URL:-...}',
      ),
    ]);
  });

  it('is named when the url it leaves is not a URL, and the rest of the value is not echoed', () => {
    const { errors } = parse(config('targets:', ...target('nova', 'main', '${SCHEME}admin:pw@db/nova')), {
      SCHEME: '',
    });
    expect(errors.map((e) => e.message)).toEqual([
      'target "nova": url is not a URL: environment variable SCHEME is set but empty',
    ]);
    expect(JSON.stringify(errors)).not.toContain('admin:pw');
  });

  it('is named when it leaves urlFile empty', () => {
    const { errors } = parse(
      config('targets:', '  - name: nova', '    kind: main', '    urlFile: ${NOVA_URL_FILE}'),
      { NOVA_URL_FILE: '' },
    );
    expect(errors).toEqual([
      error(
        6,
        14,
        'target "nova": urlFile is empty: environment variable NOVA_URL_FILE is set but empty',
        'urlFile names the file that holds the admin URL',
      ),
    ]);
  });

  it('is not blamed when the url is valid or a default took its place', () => {
    expect(
      parse(config('targets:', ...target('nova', 'main', 'postgres://db/nova${SUFFIX}')), { SUFFIX: '' })
        .errors,
    ).toEqual([]);
    expect(
      parse(config('targets:', ...target('nova', 'main', '${NOVA_URL:-postgres://db/nova}')), {
        NOVA_URL: '',
      }).errors,
    ).toEqual([]);
  });
});

describe('names of JavaScript object properties in the environment and in URL schemes', () => {
  it('does not take ${constructor} or ${toString} from Object.prototype', () => {
    const { errors } = parse(config('targets:', ...target('nova', 'main', '${constructor}${toString}')));
    expect(errors.map((e) => e.message)).toEqual([
      'environment variable constructor is not set',
      'environment variable toString is not set',
    ]);
  });

  it('calls constructor:// an unsupported scheme', () => {
    const { errors } = parse(config('targets:', ...target('nova', 'main', 'constructor://db/nova')));
    expect(errors.map((e) => e.message)).toEqual([
      'target "nova": url has the unsupported scheme "constructor"',
    ]);
  });
});

describe('two targets on one database', () => {
  const HINT =
    'each target must be its own database: keep one of them; if the two kinds are the same database, ' +
    'use one kind for it (move the tables the policies list under the other kind to this one)';
  const twoTargets = (first: string, second: string, secondKind = 'main') =>
    config('targets:', ...target('orders', 'main', first), ...target('orders_copy', secondKind, second));

  it('are refused at the second url, naming both and where the first is, whatever their kinds', () => {
    const { parsed, errors } = parse(
      twoTargets(
        'postgres://admin:Pw1@DB.example:5432/orders',
        'postgresql://other:Pw2@db.example/orders',
        'audit',
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      {
        ...error(
          9,
          10,
          'targets "orders" and "orders_copy" are the same database "orders" on db.example:5432',
          HINT,
        ),
        related: { label: 'target "orders" is at', file: CONFIG, line: 6, col: 10 },
      },
    ]);
    expect(JSON.stringify(errors)).not.toMatch(/Pw1|Pw2|adminUser|readerUser/);
  });

  it.each([
    ['mysql and mariadb schemes, default port', 'mysql://root@h/nova', 'mariadb://app@h:3306/nova'],
    ['hosts in another order', 'postgres://h1,h2:5433/x', 'postgres://h2:5433,h1:5432/x'],
    ["PostgreSQL's default database: the user name", 'postgres://nova@db', 'postgres://x@db/nova'],
    [
      'dbname and host given as parameters',
      'postgres:///?host=%2Frun%2Fpg&dbname=a',
      'postgres:///a?host=/run/pg',
    ],
    ['a percent-encoded database name', 'postgres://db/my%20db', 'postgres://db/my db'],
    ['dbname, which wins over the path as in libpq', 'postgres://db/x?dbname=a', 'postgres://db:5432/a'],
  ])('are found through %s', (_, first, second) => {
    const { errors } = parse(twoTargets(first, second));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/^targets "orders" and "orders_copy" are the same database /);
  });

  it.each([
    ['another database', 'postgres://db/a', 'postgres://db/b'],
    ['another port', 'postgres://db:5432/a', 'postgres://db:5433/a'],
    ['another host', 'mysql://h1/a', 'mysql://h2/a'],
  ])('are not confused with targets on %s', (_, first, second) => {
    expect(parse(twoTargets(first, second)).errors).toEqual([]);
  });
});

describe("a MySQL admin URL's ssl option", () => {
  const PASSPHRASE = 'K3yPassphr4se';

  it('is refused at the url when it is not true, false or a JSON object, never quoting it', () => {
    const ssl = encodeURIComponent(`{"passphrase":"${PASSPHRASE}"`);
    const { parsed, errors } = parse(config('targets:', ...target('nova', 'main', '${NOVA_URL}')), {
      NOVA_URL: `mysql://root:pw@db/nova?ssl=${ssl}`,
    });
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        6,
        10,
        'target "nova": the ssl parameter is not valid: expected true, false or a JSON object of TLS options',
        'write ssl=true, or ssl= followed by a percent-encoded JSON object such as {"ca":"...","rejectUnauthorized":true}',
      ),
    ]);
    expect(JSON.stringify(errors)).not.toContain(PASSPHRASE);
  });

  it('is accepted as true, false or a JSON object with a passphrase', () => {
    for (const ssl of ['true', 'false', encodeURIComponent(`{"passphrase":"${PASSPHRASE}","ca":"x"}`)]) {
      expect(
        parse(config('targets:', ...target('nova', 'main', `mariadb://db/nova?ssl=${ssl}`))).errors,
      ).toEqual([]);
    }
  });
});
