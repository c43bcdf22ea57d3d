/**
 * `credentials.kubernetes` in the deployment config: the namespace and the
 * Secret name pattern are checked where they are written (file:line:col),
 * and each component's Secret name with the policies. Also the pure name
 * helpers of src/policy/secret-name.ts. Pure: nothing is read, no
 * cluster is involved (none exists here; the Secret writer itself is tested
 * against a local fake API server in test/integration/credentials/).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SECRET_NAME_PATTERN,
  renderSecretName,
  secretNameProblem,
} from '../../../src/policy/secret-name.js';
import { parseConfig } from '../../../src/policy/config-file.js';
import { checkDeployment } from '../../../src/policy/deployment.js';
import { DiagnosticList } from '../../../src/policy/diagnostics.js';
import { parsePolicy } from '../../../src/policy/policy-file.js';
import { jsonSchemas } from '../../../src/policy/schema.js';

const CONFIG = '/srv/shop/deploy/dbwarden.yaml';
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** Lines 1-5 fixed; `credentials:` on line 5, its entries from line 6 on. */
const config = (app: string, ...credentials: string[]) =>
  yaml(
    `app: ${app}`,
    'policies: ../policies',
    'targets:',
    '  - { name: orders, kind: main, url: "postgres://admin@db/orders" }',
    'credentials:',
    ...credentials,
  );

function parse(text: string) {
  const diags = new DiagnosticList();
  const parsed = parseConfig(CONFIG, text, {}, diags);
  return { parsed, all: diags.sorted(), diags };
}

const error = (line: number, col: number, message: string, hint?: string) => ({
  severity: 'error',
  file: CONFIG,
  line,
  col,
  message,
  ...(hint === undefined ? {} : { hint }),
});

describe('credentials.kubernetes in the config', () => {
  it('alone: no credential files and no warning (the sink is used, not just accepted)', () => {
    const { parsed, all } = parse(config('shop', '  kubernetes: { namespace: shop }'));
    expect(all).toEqual([]);
    expect(parsed?.config.credentials).toEqual({
      dir: undefined,
      kubernetes: { namespace: 'shop', secretName: DEFAULT_SECRET_NAME_PATTERN },
    });
  });

  it('with dir: both sinks; the namespace may be left to the pod', () => {
    const { parsed, all } = parse(
      config('shop', '  dir: ./credentials', '  kubernetes:', '    secretName: "{app}.{component}.db"'),
    );
    expect(all).toEqual([]);
    expect(parsed?.config.credentials).toEqual({
      dir: '/srv/shop/deploy/credentials',
      kubernetes: { namespace: undefined, secretName: '{app}.{component}.db' },
    });
  });

  it('refuses a namespace that is not a Kubernetes namespace name, at its value', () => {
    expect(parse(config('shop', '  kubernetes: { namespace: Shop_NS }')).all).toEqual([
      error(
        6,
        28,
        'invalid value "Shop_NS": a Kubernetes namespace name has lowercase letters, digits and "-", and starts and ends with a letter or digit',
      ),
    ]);
    expect(parse(config('shop', `  kubernetes: { namespace: ${'n'.repeat(64)} }`)).all).toEqual([
      error(6, 28, 'too long: at most 63 characters'),
    ]);
  });

  it('refuses characters and placeholders a Secret name pattern cannot hold', () => {
    for (const pattern of [
      '{app}-{name}',
      'Nova-{component}',
      '{app}_{component}',
      '{app}-db-{component}/x',
    ]) {
      const { all } = parse(
        config('shop', '  kubernetes:', '    namespace: shop', `    secretName: "${pattern}"`),
      );
      expect(all).toEqual([
        error(
          8,
          17,
          `invalid value "${pattern}": secretName may hold lowercase letters, digits, "-", "." and the placeholders {app} and {component}`,
        ),
      ]);
    }
  });

  it('refuses a pattern without {component}: every component would share one Secret', () => {
    expect(
      parse(config('shop', '  kubernetes:', '    namespace: shop', '    secretName: "{app}-db"')).all,
    ).toEqual([
      error(
        8,
        17,
        'secretName "{app}-db" does not contain {component}: every component would write the same Secret',
        'for example: {app}-db-{component}',
      ),
    ]);
  });

  it('refuses a pattern whose names are not RFC 1123 subdomains, at the pattern', () => {
    expect(
      parse(config('shop', '  kubernetes: { namespace: shop, secretName: "-{component}" }')).all,
    ).toEqual([
      error(
        6,
        46,
        'secretName "-{component}" makes Secret names like "-<component>" that are not valid: "-x" is not a Kubernetes name (RFC 1123 subdomain): each "."-separated part must start and end with a lowercase letter or digit',
        'Secret names are lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters',
      ),
    ]);
  });

  it('refuses the default pattern for an app with "_", at the kubernetes key', () => {
    expect(parse(config('my_shop', '  kubernetes: { namespace: shop }')).all).toEqual([
      error(
        6,
        3,
        'secretName "{app}-db-{component}" makes Secret names like "my_shop-db-<component>" that are not valid: "my_shop-db-x" contains "_": a Kubernetes name (RFC 1123 subdomain) has only lowercase letters, digits, "-" and "."',
        'app "my_shop" has "_", which Kubernetes names cannot hold: write the app\'s part of the name into secretName instead of {app}',
      ),
    ]);
    // Writing the app's part by hand is the way out.
    expect(
      parse(config('my_shop', '  kubernetes: { namespace: shop, secretName: "my-shop-db-{component}" }')).all,
    ).toEqual([]);
  });

  it("refuses a target name in dbwarden's key prefix", () => {
    const text = yaml(
      'app: shop',
      'policies: p',
      'targets:',
      '  - { name: dbwarden.pending.x, kind: main, url: "postgres://db/o" }',
      'credentials: { kubernetes: { namespace: shop } }',
    );
    expect(parse(text).all).toEqual([
      error(
        4,
        13,
        'target name "dbwarden.pending.x" starts with "dbwarden.", which the Kubernetes Secrets keep for dbwarden\'s own keys',
        'rename the target',
      ),
    ]);
  });

  it("checks each component's Secret name with the policies, at the component, pointing at the pattern", () => {
    const { parsed, diags } = parse(config('shop', '  kubernetes: { namespace: shop }'));
    const policy = (component: string, databases: boolean) =>
      parsePolicy(
        `/srv/shop/policies/${component}.yaml`,
        yaml(
          `component: ${component}`,
          ...(databases ? ['databases:', '  main:', '    tables:', '      t: [select]'] : []),
        ),
        diags,
      );
    const policies = [policy('cell_conductor', true), policy('api', true), policy('no_db', false)];
    if (!parsed || policies.some((p) => p === undefined)) throw new Error('fixture did not parse');
    const deployment = checkDeployment(
      parsed,
      policies.map((p) => p?.policy.file ?? ''),
      policies.filter((p) => p !== undefined),
      diags,
    );
    expect(deployment).toBeUndefined();
    // no_db gets no login, hence no Secret: its "_" is fine.
    expect(diags.errors).toEqual([
      {
        severity: 'error',
        file: '/srv/shop/policies/cell_conductor.yaml',
        line: 1,
        col: 12,
        message:
          'component "cell_conductor" would write its credentials to Secret "shop-db-cell_conductor", which contains "_": a Kubernetes name (RFC 1123 subdomain) has only lowercase letters, digits, "-" and "."',
        hint: 'Kubernetes names cannot hold "_": rename the component (for example to cellconductor), or write its credentials to files only (credentials.dir)',
        related: { label: 'Secret names come from', file: CONFIG, line: 6, col: 3 },
      },
    ]);
  });

  it('describes the key in the JSON Schema for editors', () => {
    const schema = JSON.stringify(jsonSchemas().config);
    expect(schema).toContain('Secret name pattern with {app} and {component}; default {app}-db-{component}');
    expect(schema).toContain("Namespace of the Secrets; default: the pod's own namespace");
  });
});

describe('Secret names', () => {
  it('render {app} and {component}, every occurrence', () => {
    expect(renderSecretName(DEFAULT_SECRET_NAME_PATTERN, 'nova', 'scheduler')).toBe('nova-db-scheduler');
    expect(renderSecretName('{component}.{app}.{component}', 'nova', 'api')).toBe('api.nova.api');
  });

  it('are RFC 1123 subdomains of at most 253 characters', () => {
    expect(secretNameProblem('nova-db-api')).toBeUndefined();
    expect(secretNameProblem('nova.db.api')).toBeUndefined();
    expect(secretNameProblem('a'.repeat(253))).toBeUndefined();
    expect(secretNameProblem('a'.repeat(254))).toBe('is 254 characters long; Kubernetes allows 253');
    expect(secretNameProblem('nova_api')).toContain('contains "_"');
    expect(secretNameProblem('Nova')).toContain('contains "N"');
    for (const bad of ['-nova', 'nova-', 'nova..api', '.nova', 'nova.-api', '']) {
      expect(secretNameProblem(bad)).toBeDefined();
    }
  });
});
