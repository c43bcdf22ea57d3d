/**
 * charts/dbwarden's templates, rendered by this repository's small Go-template renderer
 * (./gotemplate.ts: the subset the chart uses, refusing anything else), since no helm binary
 * exists on the machines this suite usually runs on; helm.test.ts runs the real helm where it
 * exists. Every template must render to valid YAML for every example, and the output must follow
 * the chart's policy (./checks.ts): hooks and their order, Pod Security "restricted", RBAC limited
 * to the Secrets dbwarden writes, a token only when needed, no Secret ever rendered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  type Dict,
  type K8sObject,
  SCENARIOS,
  defaultValues,
  exampleFiles,
  exampleValues,
  get,
  mergeValues,
  one,
  podOf,
  readChartFile,
  render,
  renderFiles,
  root,
  templateFiles,
} from './chart.js';
import { checkRendered, expectedSecretNames } from './checks.js';
import { TemplateFail } from './gotemplate.js';

const nova = (): Dict => exampleValues('nova-postgresql.yaml');
const withValues = (base: Dict, override: Dict): Dict => mergeValues(base, override);
const hookAnnotations = (objects: K8sObject[]) =>
  objects.flatMap((o) =>
    Object.keys(o.metadata.annotations ?? {}).filter((k) => k.startsWith('helm.sh/hook')),
  );

describe('chart files', () => {
  it('every example is used by a scenario below, and every template is YAML or a helper', () => {
    expect(exampleFiles().sort()).toEqual([...new Set(SCENARIOS.flatMap((s) => s.files))].sort());
    for (const file of templateFiles()) expect(file).toMatch(/^(_helpers\.tpl|[a-z]+\.yaml)$/);
  });

  it('no template can render a Secret: the chart only mounts Secrets that already exist', () => {
    for (const file of templateFiles()) {
      expect(readChartFile(`templates/${file}`), file).not.toMatch(/kind:\s*Secret\b/);
    }
  });
});

describe.each(SCENARIOS)('rendering: $title', ({ files }) => {
  it('every template renders to valid YAML, and the objects follow the chart policy', () => {
    const values = exampleValues(...files);
    const objects = render(values, { namespace: 'nova' });
    checkRendered(objects, values, 'nova');
  });
});

describe('values that must not render', () => {
  it('the defaults alone: no config, and the message says what to set', () => {
    expect(() => render(defaultValues())).toThrow(TemplateFail);
    expect(() => render(defaultValues())).toThrow(
      /set config \(the content of dbwarden.yaml\) or existingConfigMap/,
    );
  });

  it('credentials.kubernetes written in config: it comes from kubernetesCredentials only', () => {
    const values = nova();
    (values.config as Dict).credentials = { kubernetes: { secretName: 'x-{component}' } };
    expect(() => render(values)).toThrow(/leave it out and set kubernetesCredentials instead/);
  });

  it('kubernetesCredentials.app that differs from config.app', () => {
    const values = withValues(nova(), { kubernetesCredentials: { app: 'glance' } });
    expect(() => render(values)).toThrow(/kubernetesCredentials.app "glance" differs from config.app "nova"/);
  });

  it('a Secret name Kubernetes would refuse (a component with "_")', () => {
    const values = withValues(nova(), { kubernetesCredentials: { components: ['api', 'cell_worker'] } });
    expect(() => render(values)).toThrow(
      /Secret name "nova-db-cell_worker" .* is not a valid Kubernetes name/,
    );
  });

  it('kubernetesCredentials with an existing ConfigMap but no app', () => {
    const values = withValues(exampleValues('existing-configmap.yaml'), {
      kubernetesCredentials: { enabled: true, components: ['api'] },
    });
    expect(() => render(values)).toThrow(/kubernetesCredentials.app is required/);
  });

  it('a lock wait as long as the deadline', () => {
    const values = withValues(nova(), { job: { lockWaitSeconds: 280 } });
    expect(() => render(values)).toThrow(/lockWaitSeconds must be below job.activeDeadlineSeconds/);
  });

  it('a config string that is not a YAML mapping', () => {
    const values = withValues(nova(), { config: '- a list' });
    expect(() => render(values)).toThrow(/config is not a valid YAML mapping/);
  });
});

describe('switches', () => {
  it('without Kubernetes credentials: no token, no Role, no RoleBinding, no credentials.kubernetes', () => {
    const values = withValues(nova(), { kubernetesCredentials: { enabled: false } });
    const objects = render(values);
    checkRendered(objects, values, 'nova');
    expect(objects.map((o) => o.kind)).not.toContain('Role');
    expect(podOf(objects).pod.automountServiceAccountToken).toBe(false);
    const config = parse((one(objects, 'ConfigMap').data as Dict)['dbwarden.yaml'] as string) as Dict;
    expect(config.credentials).toBeUndefined();
  });

  it('with Kubernetes credentials: get and patch only on the Secrets of the listed components', () => {
    const values = nova();
    const role = one(render(values), 'Role');
    expect(expectedSecretNames(values)).toEqual([
      'nova-db-api',
      'nova-db-conductor',
      'nova-db-metadata',
      'nova-db-novncproxy',
      'nova-db-scheduler',
    ]);
    const verbs = (role.rules as Dict[]).flatMap((r) => r.verbs as string[]).sort();
    expect(verbs).toEqual(['create', 'get', 'patch']);
  });

  it('Secrets in another namespace: the Role and RoleBinding go there, the subject stays', () => {
    const values = withValues(nova(), { kubernetesCredentials: { namespace: 'nova-secrets' } });
    const objects = render(values, { namespace: 'nova' });
    checkRendered(objects, values, 'nova');
    expect(one(objects, 'Role').metadata.namespace).toBe('nova-secrets');
    const config = parse((one(objects, 'ConfigMap').data as Dict)['dbwarden.yaml'] as string) as Dict;
    expect(get(config, 'credentials', 'kubernetes', 'namespace')).toBe('nova-secrets');
  });

  it('useHelmHooks: false leaves no hook annotation, with or without Argo CD sync waves', () => {
    for (const argocdSyncWaves of [false, true]) {
      const values = withValues(nova(), { useHelmHooks: false, gitops: { argocdSyncWaves } });
      const objects = render(values);
      checkRendered(objects, values, 'nova');
      expect(hookAnnotations(objects)).toEqual([]);
    }
    expect(hookAnnotations(render(nova())).length).toBeGreaterThan(0);
  });

  it('without hooks, the Job name changes with what it runs and only then', () => {
    const jobName = (values: Dict) => one(render(values), 'Job').metadata.name;
    const gitops = withValues(nova(), { useHelmHooks: false });
    const name = jobName(gitops);
    expect(jobName(withValues(gitops, {}))).toBe(name);
    expect(jobName(withValues(gitops, { image: { tag: '0.1.1' } }))).not.toBe(name);
    expect(jobName(withValues(gitops, { job: { extraArgs: ['--batch-size', '1000'] } }))).not.toBe(name);
    expect(jobName(withValues(gitops, { config: { app: 'nova2' } }))).not.toBe(name);
    expect(jobName(withValues(gitops, { job: { backoffLimit: 0 } }))).toBe(name);
  });

  it('hook weights follow hookWeight, the dependencies always below the Job', () => {
    const values = withValues(nova(), { hookWeight: 10 });
    const objects = render(values);
    checkRendered(objects, values, 'nova');
    const weight = (kind: string) => one(objects, kind).metadata.annotations?.['helm.sh/hook-weight'];
    expect([
      weight('ConfigMap'),
      weight('ServiceAccount'),
      weight('Role'),
      weight('RoleBinding'),
      weight('Job'),
    ]).toEqual(['7', '7', '8', '9', '10']);
  });

  it('mode: downgrade runs downgrade --to --yes, with --drop-roles only when asked, under other names', () => {
    const upgradeNames = render(nova()).map((o) => o.metadata.name);
    for (const dropRoles of [false, true]) {
      const values = withValues(nova(), {
        mode: 'downgrade',
        downgrade: { to: '001_key_columns', dropRoles },
      });
      const objects = render(values);
      checkRendered(objects, values, 'nova');
      expect(podOf(objects).container.args).toEqual([
        'downgrade',
        '--to',
        '001_key_columns',
        '--config',
        '/etc/dbwarden/dbwarden.yaml',
        '--format',
        'json',
        '--yes',
        ...(dropRoles ? ['--drop-roles'] : []),
      ]);
      for (const o of objects) expect(upgradeNames).not.toContain(o.metadata.name);
    }
  });

  it('policies from values become files under /etc/dbwarden/policies', () => {
    const values = withValues(nova(), {
      config: { policies: 'policies' },
      policies: { 'api.yaml': 'component: api\n', 'scheduler.yml': 'component: scheduler\n' },
    });
    const objects = render(values);
    checkRendered(objects, values, 'nova');
  });

  it('numbers print as integers, even where Helm would print a float64 as 1e+06', () => {
    const values = withValues(nova(), {
      securityContext: { runAsUser: 1000000, runAsGroup: 1000000, fsGroup: 1000000 },
    });
    const objects = render(values);
    checkRendered(objects, values, 'nova');
    // YAML would read 1e+06 as the same number; Kubernetes refuses it for an integer field.
    const job = renderFiles(values).get('dbwarden/templates/job.yaml') ?? '';
    expect(job).toMatch(/runAsUser: 1000000\n/);
    expect(job).not.toMatch(/e\+0/);
  });

  it('names: the chart name is not repeated, long release names are cut to valid names', () => {
    expect(one(render(nova(), { releaseName: 'nova' }), 'Job').metadata.name).toBe('nova-dbwarden-upgrade');
    expect(one(render(nova(), { releaseName: 'dbwarden' }), 'Job').metadata.name).toBe('dbwarden-upgrade');
    const long = withValues(nova(), { mode: 'downgrade', downgrade: { to: 'base' }, useHelmHooks: false });
    const objects = render(long, { releaseName: 'a'.repeat(60) });
    checkRendered(objects, long, 'nova');
  });
});

describe('the Nova example and the policies shipped in the image', () => {
  it('lists exactly the shipped components that have databases', () => {
    const dir = path.join(root, 'policies/nova');
    const withDatabases = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Dict)
      .filter((p) => p.databases !== undefined)
      .map((p) => p.component as string)
      .sort();
    const values = nova();
    expect((values.config as Dict).policies).toBe('/app/policies/nova');
    expect(get(values, 'kubernetesCredentials', 'components')).toEqual(withDatabases);
  });
});
