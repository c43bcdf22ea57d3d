/**
 * charts/dbwarden/values.schema.json (checked by Helm on install, upgrade, template and lint)
 * accepts the chart's defaults and every example, rejects values that would render a broken or
 * unsafe Job, and describes every value; values.yaml comments every key.
 */
import { describe, expect, it } from 'vitest';
import {
  type Dict,
  SCENARIOS,
  checkSchema,
  defaultValues,
  exampleValues,
  mergeValues,
  readChartFile,
} from './chart.js';

const nova = (): Dict => exampleValues('nova-postgresql.yaml');

describe('values.schema.json accepts', () => {
  it('the defaults of values.yaml', () => {
    const verdict = checkSchema(defaultValues());
    expect(verdict.errors).toEqual([]);
    expect(verdict.ok).toBe(true);
  });

  it.each(SCENARIOS)('the example: $title', ({ files }) => {
    const verdict = checkSchema(exampleValues(...files));
    expect(verdict.errors).toEqual([]);
    expect(verdict.ok).toBe(true);
  });

  it('a config given as a string, and a downgrade to a named migration', () => {
    expect(checkSchema(mergeValues(nova(), { config: 'app: nova\n' })).ok).toBe(true);
    expect(
      checkSchema(mergeValues(nova(), { mode: 'downgrade', downgrade: { to: '001_key_columns' } })).ok,
    ).toBe(true);
  });
});

/** Values over the Nova example that Helm must refuse, each with the path the error names. */
const BAD: { why: string; values: Dict; path: string }[] = [
  { why: 'an unknown top-level key (a typo)', values: { imagee: {} }, path: '/' },
  { why: 'an unknown key inside job', values: { job: { ttlSecondsAfterFinished: 60 } }, path: '/job' },
  { why: 'backoffLimit as a string', values: { job: { backoffLimit: '1' } }, path: '/job/backoffLimit' },
  { why: 'a large backoffLimit', values: { job: { backoffLimit: 10 } }, path: '/job/backoffLimit' },
  {
    why: 'a negative deadline',
    values: { job: { activeDeadlineSeconds: -1 } },
    path: '/job/activeDeadlineSeconds',
  },
  { why: 'useHelmHooks as a string', values: { useHelmHooks: 'false' }, path: '/useHelmHooks' },
  { why: 'an unknown mode (rollback)', values: { mode: 'rollback' }, path: '/mode' },
  { why: 'mode: downgrade without downgrade.to', values: { mode: 'downgrade' }, path: '/downgrade/to' },
  {
    why: 'a downgrade.to that looks like a flag',
    values: { mode: 'downgrade', downgrade: { to: '--drop-roles' } },
    path: '/downgrade/to',
  },
  {
    why: 'an admin Secret without existingSecret',
    values: { adminSecrets: [{ name: 'x' }] },
    path: '/adminSecrets/0',
  },
  {
    why: 'a master key Secret without existingSecret',
    values: { masterKeySecrets: [{}] },
    path: '/masterKeySecrets/0',
  },
  {
    why: 'a Secret name Kubernetes refuses',
    values: { adminSecrets: [{ existingSecret: 'Nova_Admin' }] },
    path: '/adminSecrets/0/existingSecret',
  },
  { why: 'root as user', values: { securityContext: { runAsUser: 0 } }, path: '/securityContext/runAsUser' },
  {
    why: 'a security context field the chart fixes',
    values: { securityContext: { privileged: true } },
    path: '/securityContext',
  },
  {
    why: 'Kubernetes credentials without components',
    values: { kubernetesCredentials: { components: [] } },
    path: '/kubernetesCredentials/components',
  },
  {
    why: 'a Secret name pattern without {component}',
    values: { kubernetesCredentials: { secretName: 'nova-db' } },
    path: '/kubernetesCredentials/secretName',
  },
  {
    why: 'a policy file name with a path',
    values: { policies: { 'nova/api.yaml': 'x' } },
    path: '/policies',
  },
  { why: 'a policy file that is not YAML', values: { policies: { 'api.json': 'x' } }, path: '/policies' },
  { why: 'existingConfigMap together with config', values: { existingConfigMap: 'mine' }, path: '/config' },
  { why: 'config as a list', values: { config: ['app: nova'] }, path: '/config' },
  {
    why: 'an unknown pull policy',
    values: { image: { pullPolicy: 'Sometimes' } },
    path: '/image/pullPolicy',
  },
  { why: 'a hook weight as a string', values: { hookWeight: '-5' }, path: '/hookWeight' },
];

describe('values.schema.json rejects', () => {
  it.each(BAD)('$why', ({ values, path }) => {
    const verdict = checkSchema(mergeValues(nova(), values));
    expect(verdict.ok).toBe(false);
    expect(
      verdict.errors.some((e) => e.startsWith(`${path} `)),
      verdict.errors.join('\n'),
    ).toBe(true);
  });
});

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

describe('documentation of every value', () => {
  const schema = JSON.parse(readChartFile('values.schema.json')) as SchemaNode;

  it('every property of the schema has a description', () => {
    const missing: string[] = [];
    const walk = (node: SchemaNode, at: string) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        if (!child.description) missing.push(`${at}.${key}`);
        walk(child, `${at}.${key}`);
      }
      if (node.items) walk(node.items, `${at}[]`);
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });

  it('every value the schema knows has a default in values.yaml, and the reverse', () => {
    const defaults = defaultValues();
    const walk = (node: SchemaNode, value: unknown, at: string) => {
      if (!node.properties || typeof value !== 'object' || value === null || Array.isArray(value)) return;
      const inValues = Object.keys(value).sort();
      const inSchema = Object.keys(node.properties)
        .filter((k) => at !== '' || k !== 'global') // Helm's own key, set by parent charts
        .sort();
      // Free-form maps (resources, annotations, config) have no fixed keys in values.yaml.
      if (inValues.length > 0 || at === '') expect(inValues, at || '/').toEqual(inSchema);
      for (const key of inValues) {
        const child = node.properties[key];
        if (child) walk(child, (value as Dict)[key], `${at}/${key}`);
      }
    };
    walk(schema, defaults, '');
  });

  it('values.yaml comments every key, on the line before it or on the same line', () => {
    const lines = readChartFile('values.yaml').split('\n');
    const uncommented = lines.flatMap((line, i) => {
      if (!/^\s*[A-Za-z][\w]*:/.test(line)) return [];
      const before = lines[i - 1] ?? '';
      return /^\s*#/.test(before) || line.includes('#') ? [] : [`line ${i + 1}: ${line.trim()}`];
    });
    expect(uncommented).toEqual([]);
  });
});
