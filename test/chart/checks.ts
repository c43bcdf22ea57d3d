/**
 * The chart's policy, checked on rendered objects: the same checks run on this repository's own
 * rendering (./gotemplate.ts) and, where a helm binary exists, on `helm template` output.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { type Dict, type K8sObject, get, one, podOf, root } from './chart.js';

const HOOK = 'helm.sh/hook';
const WEIGHT = 'helm.sh/hook-weight';
const DELETE_POLICY = 'helm.sh/hook-delete-policy';
const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
/** Helm's default --timeout, in seconds. */
export const HELM_DEFAULT_TIMEOUT = 300;
/** Volume types the Pod Security Standard "restricted" allows. */
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
export const CONFIG_PATH = '/etc/dbwarden/dbwarden.yaml';

const schemaOf = (name: string): object =>
  JSON.parse(fs.readFileSync(path.join(root, 'docs/schema', `${name}.schema.json`), 'utf8')) as object;
const ajv = new Ajv({ strict: false });
const validateConfig = ajv.compile(schemaOf('config'));
const validatePolicy = ajv.compile(schemaOf('policy'));

const annotations = (o: K8sObject): Record<string, string> => o.metadata.annotations ?? {};
const weightOf = (o: K8sObject, key: string): number => {
  const w = annotations(o)[key];
  expect(w, `${o.kind} ${key}`).toMatch(/^-?\d+$/);
  return Number(w);
};

/** The Secret names dbwarden writes, computed here independently of the templates. */
export function expectedSecretNames(values: Dict): string[] {
  const k8s = values.kubernetesCredentials as Dict;
  const config = configObject(values);
  const app = (k8s.app as string) || (config?.app as string);
  return (k8s.components as string[]).map((c) =>
    (k8s.secretName as string).replaceAll('{app}', app).replaceAll('{component}', c),
  );
}

/** `config` of the values as an object (it may be given as a string), or undefined. */
export function configObject(values: Dict): Dict | undefined {
  const config = values.config;
  if (typeof config === 'string') return parse(config) as Dict;
  return config && Object.keys(config).length > 0 ? (config as Dict) : undefined;
}

/** Every check of the chart's policy on one rendering of the given (complete) values. */
export function checkRendered(objects: K8sObject[], values: Dict, namespace: string): void {
  const k8s = values.kubernetesCredentials as Dict;
  const writesSecrets = k8s.enabled === true;
  const job = values.job as Dict;

  // What is rendered: never a Secret, and RBAC only for Kubernetes credentials.
  const kinds = objects.map((o) => o.kind).sort();
  const expectedKinds = ['Job', 'ServiceAccount'];
  if (!values.existingConfigMap) expectedKinds.push('ConfigMap');
  if (writesSecrets) expectedKinds.push('Role', 'RoleBinding');
  expect(kinds).toEqual(expectedKinds.sort());
  expect(kinds).not.toContain('Secret');
  for (const o of objects) {
    expect(o.metadata.name.length, `${o.kind} name`).toBeLessThanOrEqual(63);
    expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  }

  checkOrdering(objects, values);
  checkJob(objects, values, job);
  checkRbac(objects, values, namespace, writesSecrets);
  checkConfig(objects, values);
}

function checkOrdering(objects: K8sObject[], values: Dict): void {
  const jobObject = one(objects, 'Job');
  const others = objects.filter((o) => o.kind !== 'Job');
  if (values.useHelmHooks === true) {
    for (const o of objects) {
      expect(annotations(o)[HOOK], `${o.kind} is a pre-install,pre-upgrade hook`).toBe(
        'pre-install,pre-upgrade',
      );
      expect(annotations(o)[DELETE_POLICY], `${o.kind} keeps its last run`).toBe('before-hook-creation');
    }
    expect(weightOf(jobObject, WEIGHT)).toBe(values.hookWeight);
    const jobWeight = weightOf(jobObject, WEIGHT);
    for (const o of others) expect(weightOf(o, WEIGHT), `${o.kind} before the Job`).toBeLessThan(jobWeight);
    const role = objects.find((o) => o.kind === 'Role');
    const binding = objects.find((o) => o.kind === 'RoleBinding');
    if (role && binding) {
      expect(weightOf(role, WEIGHT)).toBeLessThan(weightOf(binding, WEIGHT));
      expect(weightOf(one(objects, 'ServiceAccount'), WEIGHT)).toBeLessThan(weightOf(binding, WEIGHT));
    }
  } else {
    for (const o of objects) {
      expect(Object.keys(annotations(o)).filter((k) => k.startsWith('helm.sh/hook'))).toEqual([]);
    }
    // A Job's pod template is immutable: without hooks the name carries a hash of what it runs.
    expect(jobObject.metadata.name).toMatch(/-(upgrade|downgrade)-[0-9a-f]{8}$/);
    const waves = (values.gitops as Dict).argocdSyncWaves === true;
    for (const o of objects) expect(SYNC_WAVE in annotations(o), `${o.kind} sync wave`).toBe(waves);
    if (waves) {
      for (const o of others) expect(weightOf(o, SYNC_WAVE)).toBeLessThan(weightOf(jobObject, SYNC_WAVE));
      expect(weightOf(jobObject, SYNC_WAVE), 'the Job comes before the application (wave 0)').toBeLessThan(0);
    }
  }
  // Never a rollback or delete hook: a downgrade is an explicit operation.
  for (const o of objects) expect(annotations(o)[HOOK] ?? '').not.toMatch(/rollback|delete/);
}

function checkJob(objects: K8sObject[], values: Dict, job: Dict): void {
  const jobObject = one(objects, 'Job');
  const spec = jobObject.spec as Dict;
  expect(spec.backoffLimit).toBe(job.backoffLimit);
  expect(spec.backoffLimit as number).toBeLessThanOrEqual(3);
  expect(spec.activeDeadlineSeconds).toBe(job.activeDeadlineSeconds);
  if (values.useHelmHooks === true)
    expect(spec.activeDeadlineSeconds as number).toBeLessThan(HELM_DEFAULT_TIMEOUT);
  expect(spec.ttlSecondsAfterFinished, 'logs of a failed run must survive').toBeUndefined();

  const { pod, container } = podOf(objects);
  const ids = values.securityContext as Dict;
  expect(pod.restartPolicy).toBe('Never');
  expect(pod.hostNetwork ?? false).toBe(false);
  expect(pod.hostPID ?? false).toBe(false);
  expect(pod.hostIPC ?? false).toBe(false);
  expect(pod.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: ids.runAsUser,
    runAsGroup: ids.runAsGroup,
    fsGroup: ids.fsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(container.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: ids.runAsUser,
    runAsGroup: ids.runAsGroup,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });

  // Arguments: the one command of the mode, one JSON document on stdout.
  const args = container.args as string[];
  if (values.mode === 'downgrade') {
    const downgrade = values.downgrade as Dict;
    // A Job has no terminal to confirm on: --yes, or the downgrade exits 2 (docs/deploy.md).
    expect(args.slice(0, 8)).toEqual([
      'downgrade',
      '--to',
      downgrade.to,
      '--config',
      CONFIG_PATH,
      '--format',
      'json',
      '--yes',
    ]);
    expect(args.includes('--drop-roles')).toBe(downgrade.dropRoles === true);
  } else {
    expect(args).toEqual([
      'upgrade',
      '--config',
      CONFIG_PATH,
      '--format',
      'json',
      '--lock-wait',
      String(job.lockWaitSeconds),
      ...(job.extraArgs as string[]),
    ]);
  }

  // Volumes: restricted types only; the config read-only; /tmp the one writable path of the image;
  // Secrets only those the values name, mounted read-only, none created.
  const volumes = pod.volumes as Dict[];
  const mounts = container.volumeMounts as Dict[];
  for (const v of volumes) {
    const types = Object.keys(v).filter((k) => k !== 'name');
    expect(types.length).toBe(1);
    expect(RESTRICTED_VOLUME_TYPES.has(types[0] ?? ''), `volume ${String(v.name)}: ${types.join()}`).toBe(
      true,
    );
  }
  const mountOf = (name: string) => mounts.find((m) => m.name === name);
  const volumeOf = (name: string) => volumes.find((v) => v.name === name);
  expect(mountOf('config')).toEqual({ name: 'config', mountPath: '/etc/dbwarden', readOnly: true });
  expect(get(volumeOf('config'), 'configMap', 'name')).toBe(
    values.existingConfigMap || one(objects, 'ConfigMap').metadata.name,
  );
  expect(mountOf('tmp')?.mountPath).toBe('/tmp');
  expect(get(volumeOf('tmp'), 'emptyDir')).toBeDefined();

  const secretVolumes = volumes.filter((v) => 'secret' in v);
  const wanted = [
    ...(values.adminSecrets as Dict[]).map((s) => ({ secret: s.existingSecret, dir: '/run/dbwarden/admin' })),
    ...(values.masterKeySecrets as Dict[]).map((s) => ({
      secret: s.existingSecret,
      dir: '/run/dbwarden/master-keys',
    })),
  ];
  expect(secretVolumes.map((v) => get(v, 'secret', 'secretName')).sort()).toEqual(
    wanted.map((w) => w.secret).sort(),
  );
  for (const w of wanted) {
    const volume = secretVolumes.find((v) => get(v, 'secret', 'secretName') === w.secret);
    expect(get(volume, 'secret', 'defaultMode'), 'octal 0440').toBe(0o440);
    expect(mountOf(String(volume?.name))).toEqual({
      name: volume?.name,
      mountPath: `${w.dir}/${String(w.secret)}`,
      readOnly: true,
    });
  }
}

function checkRbac(objects: K8sObject[], values: Dict, namespace: string, writesSecrets: boolean): void {
  const account = one(objects, 'ServiceAccount');
  const { pod } = podOf(objects);
  // A token only when dbwarden talks to the Kubernetes API.
  expect(pod.automountServiceAccountToken).toBe(writesSecrets);
  expect(account.automountServiceAccountToken).toBe(writesSecrets);
  expect(pod.serviceAccountName).toBe(account.metadata.name);
  if (!writesSecrets) return;

  const k8s = values.kubernetesCredentials as Dict;
  const secretNamespace = (k8s.namespace as string) || namespace;
  const role = one(objects, 'Role');
  const binding = one(objects, 'RoleBinding');
  expect(role.metadata.namespace).toBe(secretNamespace);
  expect(binding.metadata.namespace).toBe(secretNamespace);
  expect(role.rules).toEqual([
    // create cannot be limited by name
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: expectedSecretNames(values),
      verbs: ['get', 'patch'],
    },
  ]);
  expect(binding.roleRef).toEqual({
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'Role',
    name: role.metadata.name,
  });
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace }]);
}

function checkConfig(objects: K8sObject[], values: Dict): void {
  if (values.existingConfigMap) return;
  const configMap = one(objects, 'ConfigMap');
  const data = configMap.data as Record<string, string>;
  const policies = values.policies as Record<string, string>;
  expect(Object.keys(data).sort()).toEqual(
    ['dbwarden.yaml', ...Object.keys(policies).map((f) => `policies.${f}`)].sort(),
  );
  const config = parse(data['dbwarden.yaml'] ?? '') as Dict;
  expect(validateConfig(config), ajv.errorsText(validateConfig.errors)).toBe(true);
  for (const [file, content] of Object.entries(policies)) {
    expect(data[`policies.${file}`]).toBe(content);
    expect(validatePolicy(parse(content)), `${file}: ${ajv.errorsText(validatePolicy.errors)}`).toBe(true);
  }

  // The config's credentials.kubernetes comes from the values, so the Role names the same Secrets.
  const k8s = values.kubernetesCredentials as Dict;
  expect(get(config, 'credentials', 'kubernetes')).toEqual(
    k8s.enabled === true
      ? { namespace: (k8s.namespace as string) || configMap.metadata.namespace, secretName: k8s.secretName }
      : undefined,
  );

  // The ConfigMap's keys become files: dbwarden.yaml and policies/<file>.
  const { pod } = podOf(objects);
  const items = get(
    (pod.volumes as Dict[]).find((v) => v.name === 'config'),
    'configMap',
    'items',
  );
  expect(items).toEqual([
    { key: 'dbwarden.yaml', path: 'dbwarden.yaml' },
    ...Object.keys(policies)
      .sort()
      .map((f) => ({ key: `policies.${f}`, path: `policies/${f}` })),
  ]);

  // Every file the config reads from a Secret sits in a Secret the Job mounts.
  const mounted = [
    ...(values.adminSecrets as Dict[]).map((s) => `/run/dbwarden/admin/${String(s.existingSecret)}/`),
    ...(values.masterKeySecrets as Dict[]).map(
      (s) => `/run/dbwarden/master-keys/${String(s.existingSecret)}/`,
    ),
  ];
  const files = [
    ...((config.targets as Dict[] | undefined) ?? []).map((t) => t.urlFile),
    get(config, 'masterKey', 'current', 'file'),
    ...((get(config, 'masterKey', 'previous') as Dict[] | undefined) ?? []).map((k) => k.file),
  ].filter((f): f is string => typeof f === 'string');
  for (const file of files) {
    expect(
      mounted.some((dir) => file.startsWith(dir)),
      `${file} is in a mounted Secret`,
    ).toBe(true);
  }
}
