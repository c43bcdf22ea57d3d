/**
 * The Kubernetes Secret credential sink (src/credentials/kubernetes-secret.ts)
 * through the real @kubernetes/client-node, against a local HTTP server that
 * implements the few Secret endpoints it calls (fake-kubernetes.ts).
 *
 * NO KUBERNETES CLUSTER EXISTS on the machines these tests run on: what is
 * proved here is what dbwarden sends (methods, paths, patch bodies, content
 * types) and how it reads the answers; the fake answers the way the API
 * server documents (404, 409, 403 Status, 422 for an immutable type, merge
 * patch semantics). It is an integration test (sockets and temp files), not a
 * unit test: design.md keeps unit tests free of I/O.
 *
 * Every test collects every log line, warning and error text dbwarden
 * produced and checks that no password, URL or base64 of either is among them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CredentialDirectory, type CredentialFile } from '../../../src/credentials/credential-file.js';
import {
  KubernetesSecretError,
  kubernetesNamespace,
  kubernetesSecretApi,
} from '../../../src/credentials/kubernetes-api.js';
import { KubernetesSecretStore } from '../../../src/credentials/kubernetes-secret.js';
import { MirroredCredentialStore } from '../../../src/credentials/store.js';
import { InvalidInputError } from '../../../src/errors.js';
import type { Change, DesiredState } from '../../../src/plan/types.js';
import type { Deployment } from '../../../src/policy/model.js';
import {
  choosePasswords,
  credentialStore,
  removeCredentialFiles,
  settlePendingPasswords,
  writeCredentialFiles,
  writePendingPasswords,
} from '../../../src/runner/credentials.js';
import type { OpenTarget } from '../../../src/runner/targets.js';
import { type FakeKubernetes, startFakeKubernetes } from './fake-kubernetes.js';

const NS = 'nova';
const SECRET = 'nova-db-scheduler';
const SECRET_PATH = `/api/v1/namespaces/${NS}/secrets/${SECRET}`;
const ADMIN_URL = (db: string) => `postgresql://admin:ADMIN-PW-never-print@db.example:5432/${db}`;

process.stderr.write(
  'kubernetes-secret tests: no Kubernetes cluster here; the Secret calls go to a local fake API server (test/integration/credentials/fake-kubernetes.ts)\n',
);

let fake: FakeKubernetes;
let tmp: string;
let kubeconfig: string;
/** Every log line, warning and error text of the test. */
let said: string[];
/** Every password and URL the test used. */
let secrets: string[];

beforeAll(async () => {
  fake = await startFakeKubernetes();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-k8s-'));
  kubeconfig = fake.kubeconfig(tmp);
  fake.requests.length = 0;
  fake.secrets.clear();
  fake.forbidden.clear();
  said = [];
  secrets = ['ADMIN-PW-never-print'];
});
afterEach(() => {
  vi.unstubAllEnvs();
  fs.rmSync(tmp, { recursive: true, force: true });
  // Nothing dbwarden said may hold a password, a URL, or their base64.
  const text = said.join('\n');
  for (const value of secrets) {
    expect(text).not.toContain(value);
    expect(text).not.toContain(Buffer.from(value).toString('base64'));
  }
});

const log = (message: string) => said.push(message);

/** A password of dbwarden's generated form (43 characters of base64url), named by `label`. */
const pw = (label: string) => createHash('sha256').update(label).digest('base64url');

function store(components: readonly string[] = ['api', 'scheduler']): KubernetesSecretStore {
  return new KubernetesSecretStore({
    app: 'nova',
    namespace: NS,
    secretName: '{app}-db-{component}',
    components,
    api: kubernetesSecretApi({ kubeconfigFile: kubeconfig }),
    onWarning: log,
  });
}

function creds(component: string, password: string, targets = ['nova_api', 'nova_cell1']): CredentialFile {
  secrets.push(password);
  const file: CredentialFile = {
    component,
    username: `nova_${component}`,
    password,
    targets: Object.fromEntries(
      targets.map((t) => [t, { url: `postgresql://nova_${component}:${password}@db.example:5432/${t}` }]),
    ),
  };
  for (const { url } of Object.values(file.targets)) secrets.push(url);
  return file;
}

/** The error of a promise, its message and hint kept for the leak check. */
async function failure(promise: Promise<unknown>): Promise<KubernetesSecretError> {
  try {
    await promise;
  } catch (error) {
    said.push(String(error), JSON.stringify(error), (error as { hint?: string }).hint ?? '');
    expect(error).toBeInstanceOf(KubernetesSecretError);
    expect((error as Error).cause).toBeUndefined();
    return error as KubernetesSecretError;
  }
  throw new Error('expected the operation to fail');
}

const patches = () => fake.requests.filter((r) => r.method === 'PATCH');
const bodyData = (r: { body: unknown }) => Object.keys((r.body as { data?: object }).data ?? {}).sort();

describe('creating, patching and reusing a Secret', () => {
  it('creates a basic-auth Secret with username, password and one <target>-url key per target', async () => {
    const s = store();
    const file = creds('scheduler', pw('PW-create-1'));
    expect(await s.read('scheduler')).toBeUndefined();
    expect(await s.sync(file)).toEqual([`Secret ${NS}/${SECRET}`]);

    const post = fake.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(`/api/v1/namespaces/${NS}/secrets`);
    expect(post?.authorization).toBe(`Bearer ${fake.token}`);
    const secret = fake.secrets.get(`${NS}/${SECRET}`);
    expect(secret?.type).toBe('kubernetes.io/basic-auth');
    expect(secret?.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'dbwarden' });
    expect(secret?.metadata?.annotations).toEqual({
      'dbwarden/component': 'scheduler',
      'dbwarden/targets': 'nova_api,nova_cell1',
    });
    expect(fake.dataOf(NS, SECRET)).toEqual({
      username: 'nova_scheduler',
      password: pw('PW-create-1'),
      'nova_api-url': file.targets.nova_api?.url,
      'nova_cell1-url': file.targets.nova_cell1?.url,
    });
    expect(await s.read('scheduler')).toEqual(file);
    // Unchanged: nothing written.
    fake.requests.length = 0;
    expect(await s.sync(file)).toEqual([]);
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('patches an existing Secret: foreign labels, annotations and keys survive, only dbwarden keys change', async () => {
    fake.seed(NS, {
      metadata: {
        name: SECRET,
        labels: { team: 'compute', 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: {
          'meta.helm.sh/release-name': 'nova',
          'dbwarden/component': 'scheduler',
          'dbwarden/targets': 'nova_api,old_db',
        },
      },
      type: 'kubernetes.io/basic-auth',
      data: {
        username: 'nova_scheduler',
        password: pw('PW-old-2'),
        'nova_api-url': 'postgresql://nova_scheduler:PW-old-2@db/nova_api',
        'old_db-url': 'postgresql://nova_scheduler:PW-old-2@db/old_db',
        'ca.crt': 'FOREIGN-DATA',
        'metrics-url': 'http://foreign.example/metrics',
      },
    });
    secrets.push(pw('PW-old-2'), 'postgresql://nova_scheduler:PW-old-2@db/nova_api');
    const s = store();
    const file = creds('scheduler', pw('PW-new-2'));
    expect(await s.sync(file)).toEqual([`Secret ${NS}/${SECRET}`]);

    const [patch] = patches();
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch?.path).toBe(SECRET_PATH);
    // The patch names dbwarden's keys only; old_db left the config, so its key goes.
    expect(bodyData(patch ?? { body: {} })).toEqual([
      'nova_api-url',
      'nova_cell1-url',
      'old_db-url',
      'password',
      'username',
    ]);
    expect((patch?.body as { data: Record<string, unknown> }).data['old_db-url']).toBeNull();
    expect((patch?.body as { metadata: { labels?: unknown } }).metadata.labels).toBeUndefined();

    const secret = fake.secrets.get(`${NS}/${SECRET}`);
    expect(secret?.metadata?.labels).toEqual({ team: 'compute', 'app.kubernetes.io/managed-by': 'Helm' });
    expect(secret?.metadata?.annotations).toEqual({
      'meta.helm.sh/release-name': 'nova',
      'dbwarden/component': 'scheduler',
      'dbwarden/targets': 'nova_api,nova_cell1',
    });
    expect(fake.dataOf(NS, SECRET)).toEqual({
      username: 'nova_scheduler',
      password: pw('PW-new-2'),
      'nova_api-url': file.targets.nova_api?.url,
      'nova_cell1-url': file.targets.nova_cell1?.url,
      'ca.crt': 'FOREIGN-DATA',
      'metrics-url': 'http://foreign.example/metrics',
    });
    // A foreign key that merely ends in -url is no target of dbwarden's.
    expect((await s.read('scheduler'))?.targets).toEqual(file.targets);
  });

  it('reuses the password a Secret holds: a rerun generates no new one and rewrites nothing', async () => {
    const s = store();
    const first = creds('scheduler', pw('PW-reuse-3'));
    await s.sync(first);
    fake.requests.length = 0;
    // A login new on some server (create-login), not rotating: the password comes from the Secret.
    const changes = [
      { type: 'create-login', target: 'nova_api', component: 'scheduler', role: 'nova_scheduler' },
    ] as Change[];
    const passwords = await choosePasswords(changes, s, new Set(), new Set());
    expect(passwords.get('scheduler')).toBe(pw('PW-reuse-3'));
    // So no pending password is written either, and the final write changes nothing.
    const desired = desiredWith('scheduler');
    await writePendingPasswords(desired, passwords, targets(), s);
    expect(
      await writeCredentialFiles(desired, passwords, s, { targets: targets(), only: undefined }),
    ).toEqual([]);
    expect(patches()).toEqual([]);
    expect(fake.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('hands a password prepared by hand (a Secret without dbwarden annotations) to the login, and says it adopts the Secret', async () => {
    fake.seed(NS, {
      metadata: { name: SECRET },
      type: 'kubernetes.io/basic-auth',
      data: { password: pw('PW-hand-4'), note: 'FOREIGN' },
    });
    secrets.push(pw('PW-hand-4'));
    const s = store();
    const read = await s.read('scheduler');
    expect(read).toMatchObject({ username: 'nova_scheduler', password: pw('PW-hand-4'), targets: {} });
    const changes = [
      { type: 'create-login', target: 'nova_api', component: 'scheduler', role: 'nova_scheduler' },
    ] as Change[];
    expect((await choosePasswords(changes, s, new Set(), new Set())).get('scheduler')).toBe(pw('PW-hand-4'));
    await s.sync(creds('scheduler', pw('PW-hand-4')));
    expect(
      said.some((m) => m.includes(`Secret ${NS}/${SECRET} existed without dbwarden's annotations`)),
    ).toBe(true);
    expect(fake.dataOf(NS, SECRET)?.note).toBe('FOREIGN');
  });
});

describe('pending passwords in the Secret', () => {
  it('writes a new password under dbwarden.pending.* keys before the commit, leaving the current one', async () => {
    const s = store();
    await s.sync(creds('scheduler', pw('PW-current-5')));
    const next = creds('scheduler', pw('PW-next-5'));
    await s.writePending(next);
    const data = fake.dataOf(NS, SECRET) ?? {};
    expect(data.password).toBe(pw('PW-current-5'));
    expect(data['dbwarden.pending.password']).toBe(pw('PW-next-5'));
    expect(data['dbwarden.pending.username']).toBe('nova_scheduler');
    expect(data['dbwarden.pending.nova_api-url']).toBe(next.targets.nova_api?.url);
    expect((await s.read('scheduler'))?.password).toBe(pw('PW-current-5'));
    expect(await s.readPending('scheduler')).toEqual(next);
    expect(await s.listPending()).toEqual(['scheduler']);
    // One patch added every pending key.
    expect(patches()).toHaveLength(1);
  });

  it('a first run that dies before its commit leaves a Secret with no password: read() sees none', async () => {
    const s = store();
    await s.writePending(creds('scheduler', pw('PW-first-6')));
    const post = fake.requests.find((r) => r.method === 'POST');
    expect(bodyData(post ?? { body: {} })).toEqual([
      'dbwarden.pending.nova_api-url',
      'dbwarden.pending.nova_cell1-url',
      'dbwarden.pending.password',
      'dbwarden.pending.username',
      'username',
    ]);
    expect(await s.read('scheduler')).toBeUndefined();
    expect(await s.listPending()).toEqual(['scheduler']);
  });

  it('settles an interrupted run: a pending password the server refuses is discarded, one it accepts is saved with the URLs the config gives', async () => {
    const s = store(['api', 'compute', 'scheduler']);
    await s.sync(creds('api', pw('PW-api-7')));
    await s.sync(creds('scheduler', pw('PW-sched-7')));
    const apiNext = creds('api', pw('PW-api-next-7'));
    // The pending keys name one target, with a URL the config never gives: it is not used.
    const elsewhere = 'postgresql://mallory:MALLORY-PW@evil.example:5432/nova_api';
    secrets.push(elsewhere);
    const schedNext = {
      ...creds('scheduler', pw('PW-sched-next-7')),
      targets: { nova_api: { url: elsewhere } },
    };
    await s.writePending(apiNext);
    await s.writePending(schedNext);
    expect(await s.listPending()).toEqual(['api', 'scheduler']);

    // The server took scheduler's new password (committed) on both targets, never api's.
    const configured = creds('scheduler', pw('PW-sched-next-7'));
    const tried: string[] = [];
    const accepted = new Set(Object.values(configured.targets).map((t) => t.url));
    const resync = await settlePendingPasswords({
      store: s,
      desired: desiredWith('api', 'scheduler'),
      targets: targets(accepted, tried),
      log,
    });
    expect(resync).toEqual(new Set());
    // Logins were tried with the config's URLs only (the component's login on each admin URL).
    expect(tried).toHaveLength(4);
    expect(tried).not.toContain(elsewhere);
    expect(tried.every((url) => url.includes('@db.example:5432/'))).toBe(true);
    expect(said).toContain(
      'credentials: an interrupted run had not committed a new password for api; discarded it',
    );
    expect(said).toContain(
      `credentials: an interrupted run had set a new password for scheduler; saved it to Secret ${NS}/${SECRET}`,
    );
    expect(await s.listPending()).toEqual([]);
    expect((await s.read('api'))?.password).toBe(pw('PW-api-7'));
    expect(await s.read('scheduler')).toEqual(configured);
    expect(Object.keys(fake.dataOf(NS, SECRET) ?? {}).sort()).toEqual([
      'nova_api-url',
      'nova_cell1-url',
      'password',
      'username',
    ]);
  });

  it.each([
    [
      'a password dbwarden did not generate',
      { password: 'attacker-chosen-pw' },
      /holds a password that dbwarden did not generate/,
    ],
    [
      'another login',
      { username: 'nova_api' },
      /names another login than component "scheduler"'s \(nova_scheduler\)/,
    ],
  ])(
    'refuses pending keys with %s (exit 2) before trying them on any server',
    async (_label, change, problem) => {
      const s = store();
      await s.sync(creds('scheduler', pw('PW-sched-17')));
      secrets.push('attacker-chosen-pw');
      await s.writePending({ ...creds('scheduler', pw('PW-sched-next-17')), ...change });
      const tried: string[] = [];
      const error = await failure(
        settlePendingPasswords({
          store: s,
          desired: desiredWith('scheduler'),
          targets: targets(new Set(), tried),
          log,
        }),
      );
      expect(error.message).toMatch(problem);
      expect(error.message).toContain(`Secret ${NS}/${SECRET}`);
      expect(error.exitCode).toBe(2);
      expect(error.hint).toContain('remove the dbwarden.pending.* keys');
      expect(tried).toEqual([]);
      expect((await s.read('scheduler'))?.password).toBe(pw('PW-sched-17'));
    },
  );

  it('discardPending removes only the pending keys; promote without pending keys is an error', async () => {
    const s = store();
    await s.sync(creds('scheduler', pw('PW-8')));
    await s.writePending(creds('scheduler', pw('PW-8-next')));
    await s.discardPending('scheduler');
    expect(Object.keys(fake.dataOf(NS, SECRET) ?? {}).sort()).toEqual([
      'nova_api-url',
      'nova_cell1-url',
      'password',
      'username',
    ]);
    fake.requests.length = 0;
    await s.discardPending('scheduler');
    expect(patches()).toEqual([]);
    const error = await failure(s.promote('scheduler'));
    expect(error.message).toBe(`Secret ${NS}/${SECRET}: no pending credentials to promote for "scheduler"`);
  });

  it('refuses pending keys left incomplete by hand, naming the key, never a value', async () => {
    fake.seed(NS, {
      metadata: { name: SECRET },
      type: 'kubernetes.io/basic-auth',
      data: {
        username: 'nova_scheduler',
        'dbwarden.pending.nova_api-url': 'postgresql://x:PW-9@db/nova_api',
      },
    });
    secrets.push('PW-9');
    const error = await failure(store().readPending('scheduler'));
    expect(error.message).toBe(
      `Secret ${NS}/${SECRET}: key "dbwarden.pending.username" is missing while other dbwarden.pending.* keys exist`,
    );
    expect(error.hint).toContain('dbwarden apply --rotate-passwords --component scheduler');
  });
});

describe('failures', () => {
  it('403 on patch names the verb, the resource, the namespace and the Role rule to add', async () => {
    const s = store();
    await s.sync(creds('scheduler', pw('PW-10')));
    fake.forbidden.add(`patch ${SECRET}`);
    const error = await failure(s.writePending(creds('scheduler', pw('PW-10-next'))));
    expect(error.status).toBe(403);
    expect(error.message).toBe(
      `cannot patch Secret ${NS}/${SECRET}: forbidden (HTTP 403 Forbidden) for system:serviceaccount:${NS}:dbwarden: RBAC does not allow verb "patch" on resource "secrets" in namespace ${NS}`,
    );
    expect(error.hint).toContain(`grant "patch" on secrets named ${SECRET} in namespace ${NS}`);
    expect(error.hint).toContain('verbs: ["get", "patch"]');
  });

  it('403 on create and on get say which verb is missing', async () => {
    fake.forbidden.add('create');
    const created = await failure(store().sync(creds('scheduler', pw('PW-11'))));
    expect(created.message).toContain(`cannot create Secret ${NS}/${SECRET}: forbidden`);
    expect(created.hint).toContain('verbs: ["create"]');
    fake.forbidden.add('get');
    const read = await failure(store().read('scheduler'));
    expect(read.message).toContain(`cannot get Secret ${NS}/${SECRET}: forbidden`);
  });

  it('a Secret of another type is refused before anything is written (its type cannot change)', async () => {
    fake.seed(NS, { metadata: { name: SECRET }, type: 'Opaque', data: { other: 'FOREIGN' } });
    const error = await failure(store().writePending(creds('scheduler', pw('PW-12'))));
    expect(error.message).toBe(
      `Secret ${NS}/${SECRET} has type Opaque, not kubernetes.io/basic-auth; Kubernetes cannot change the type of a Secret`,
    );
    expect(patches()).toEqual([]);
  });

  it('a namespace that does not exist, a wrong token and an unreachable server are typed errors', async () => {
    const other = new KubernetesSecretStore({
      app: 'nova',
      namespace: 'absent',
      secretName: '{app}-db-{component}',
      components: ['scheduler'],
      api: kubernetesSecretApi({ kubeconfigFile: kubeconfig }),
    });
    const missing = await failure(other.sync(creds('scheduler', pw('PW-13'))));
    expect(missing.message).toContain('does namespace absent exist?');

    const badToken = path.join(tmp, 'bad-token');
    fs.writeFileSync(badToken, fs.readFileSync(kubeconfig, 'utf8').replace(fake.token, 'wrong-token'));
    const unauthorized = await failure(
      new KubernetesSecretStore({
        app: 'nova',
        namespace: NS,
        secretName: '{app}-db-{component}',
        components: ['scheduler'],
        api: kubernetesSecretApi({ kubeconfigFile: badToken }),
      }).read('scheduler'),
    );
    expect(unauthorized.status).toBe(401);
    expect(said.join('\n')).not.toContain('wrong-token');

    const closed = path.join(tmp, 'closed');
    fs.writeFileSync(closed, fs.readFileSync(kubeconfig, 'utf8').replace(fake.url, 'http://127.0.0.1:1'));
    const unreachable = await failure(
      new KubernetesSecretStore({
        app: 'nova',
        namespace: NS,
        secretName: '{app}-db-{component}',
        components: ['scheduler'],
        api: kubernetesSecretApi({ kubeconfigFile: closed }),
      }).read('scheduler'),
    );
    expect(unreachable.message).toBe(
      `cannot get Secret ${NS}/${SECRET}: no answer from the API server at http://127.0.0.1:1 (ECONNREFUSED)`,
    );
  });

  it('a broken kubeconfig is named without quoting it (it may hold a token)', async () => {
    const broken = path.join(tmp, 'broken');
    fs.writeFileSync(broken, 'users: [ { token: "TOKEN-in-a-broken-file" ');
    secrets.push('TOKEN-in-a-broken-file');
    const error = await failure(
      new KubernetesSecretStore({
        app: 'nova',
        namespace: NS,
        secretName: '{app}-db-{component}',
        components: ['scheduler'],
        api: kubernetesSecretApi({ kubeconfigFile: broken }),
      }).read('scheduler'),
    );
    expect(error.message).toBe(`cannot load the kubeconfig ${broken}: not a valid kubeconfig file`);
  });
});

describe('removing the credentials of a dropped login', () => {
  it('takes dbwarden keys, label and annotations away, keeps username and foreign keys; leaves a foreign Secret alone', async () => {
    const s = store();
    await s.sync(creds('scheduler', pw('PW-14')));
    // Someone else adds a key of their own.
    const stored = fake.secrets.get(`${NS}/${SECRET}`);
    if (stored?.data === undefined) throw new Error('the Secret was not written');
    stored.data.other = Buffer.from('FOREIGN').toString('base64');
    const changes = [
      { type: 'drop-login', target: 'nova_api', component: 'scheduler', role: 'nova_scheduler' },
    ] as Change[];
    expect(await removeCredentialFiles(changes, desiredWith(), s)).toEqual([`Secret ${NS}/${SECRET}`]);
    expect(fake.dataOf(NS, SECRET)).toEqual({ username: 'nova_scheduler', other: 'FOREIGN' });
    expect(fake.secrets.get(`${NS}/${SECRET}`)?.metadata?.labels).toEqual({});
    expect(fake.secrets.get(`${NS}/${SECRET}`)?.metadata?.annotations).toEqual({});
    expect(await s.read('scheduler')).toBeUndefined();
    // Now foreign: nothing more to remove.
    expect(await s.remove('scheduler')).toEqual([]);
  });
});

describe('credentials.dir and credentials.kubernetes together', () => {
  it('writes both, reads the Secret first, and falls back to the file (moving from files to Secrets keeps passwords)', async () => {
    const dir = new CredentialDirectory(path.join(tmp, 'credentials'), { onWarning: log });
    const both = new MirroredCredentialStore(store(), dir);
    // Before the Secret existed: the file's password is the one.
    const old = creds('scheduler', pw('PW-file-15'));
    await dir.write(old);
    expect(await both.read('scheduler')).toEqual(old);
    expect(await both.sync(old)).toEqual([`Secret ${NS}/${SECRET}`]);
    expect(fake.dataOf(NS, SECRET)?.password).toBe(pw('PW-file-15'));

    const next = creds('scheduler', pw('PW-both-15'));
    await both.writePending(next);
    expect(await dir.readPending('scheduler')).toEqual(next);
    expect(fake.dataOf(NS, SECRET)?.['dbwarden.pending.password']).toBe(pw('PW-both-15'));
    // A crash after the Secret's promote, before the file's: the next promote finishes the job.
    await store().promote('scheduler');
    expect(await both.listPending()).toEqual(['scheduler']);
    await both.promote('scheduler');
    expect(await dir.read('scheduler')).toEqual(next);
    expect(await both.read('scheduler')).toEqual(next);
    expect(await both.listPending()).toEqual([]);
  });
});

describe('choosing the store and the namespace', () => {
  const deployment = (kubernetes: { namespace: string | undefined; secretName: string }, dir?: string) =>
    ({
      config: { app: 'nova', credentials: { dir, kubernetes } },
      policies: [{ component: 'scheduler', databases: [{ kind: 'api' }] }],
    }) as unknown as Deployment;

  it('credentials.kubernetes loads the client from KUBECONFIG outside a pod', async () => {
    vi.stubEnv('KUBECONFIG', kubeconfig);
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    const s = credentialStore(deployment({ namespace: NS, secretName: '{app}-db-{component}' }), log);
    expect(s).toBeInstanceOf(KubernetesSecretStore);
    await s.sync(creds('scheduler', pw('PW-16')));
    expect(fake.dataOf(NS, SECRET)?.password).toBe(pw('PW-16'));
    const mirrored = credentialStore(
      deployment({ namespace: NS, secretName: '{app}-db-{component}' }, path.join(tmp, 'c')),
      log,
    );
    expect(mirrored).toBeInstanceOf(MirroredCredentialStore);
    expect(mirrored.path('scheduler')).toBe(
      `Secret ${NS}/${SECRET} and ${path.join(tmp, 'c', 'scheduler.json')}`,
    );
  });

  it('without any kubeconfig and outside a pod, the first call says so', async () => {
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    vi.stubEnv('HOME', tmp);
    const s = credentialStore(deployment({ namespace: NS, secretName: '{app}-db-{component}' }), log);
    const error = await failure(s.read('scheduler'));
    expect(error.message).toContain('no Kubernetes API server to write Secrets to: not running in a pod');
  });

  it("defaults the namespace to the pod's own, and requires one outside a pod", () => {
    expect(kubernetesNamespace('given', { serviceAccountPrefix: tmp })).toBe('given');
    expect(() => kubernetesNamespace(undefined, { serviceAccountPrefix: tmp })).toThrow(InvalidInputError);
    expect(() => kubernetesNamespace(undefined, { serviceAccountPrefix: tmp })).toThrow(
      /credentials.kubernetes.namespace is not set, and dbwarden is not running in a Kubernetes pod/,
    );
    const sa = path.join(tmp, 'var/run/secrets/kubernetes.io/serviceaccount');
    fs.mkdirSync(sa, { recursive: true });
    fs.writeFileSync(path.join(sa, 'namespace'), 'openstack\n');
    expect(kubernetesNamespace(undefined, { serviceAccountPrefix: tmp })).toBe('openstack');
  });
});

/** Desired state with `scheduler` using kinds api and main (the targets below), and `compute` without databases. */
function desiredWith(...components: string[]): DesiredState {
  return {
    app: 'nova',
    components: components.map((component) => ({
      component,
      login: `nova_${component}`,
      role: `nova_${component}_role`,
      databases: [
        { kind: 'api', schema: undefined, tables: [] },
        { kind: 'main', schema: undefined, tables: [] },
      ],
    })),
    targets: [],
    hardenPublic: false,
    accounts: { host: '%', requireTls: false, maxUserConnections: 0 },
  } as DesiredState;
}

/** Targets nova_api (kind api) and nova_cell1 (kind main); a login succeeds with the URLs in `accepted`. */
/** The two targets; a login succeeds with a URL in `accepted`; every URL tried goes to `tried`. */
function targets(accepted: ReadonlySet<string> = new Set(), tried: string[] = []): OpenTarget[] {
  return [
    ['nova_api', 'api'],
    ['nova_cell1', 'main'],
  ].map(
    ([name, kind]) =>
      ({
        target: { name, kind, engine: 'postgres', url: { from: 'inline', url: '' } },
        url: ADMIN_URL(name ?? ''),
        dialect: {
          canLogIn: async (url: string) => {
            tried.push(url);
            return Promise.resolve(accepted.has(url));
          },
        },
      }) as unknown as OpenTarget,
  );
}
