/**
 * `apply` and `verify` with `credentials.kubernetes` only, end to end: a real
 * PostgreSQL server, the CLI in-process, and a local fake of the Kubernetes
 * API server's Secret endpoints (fake-kubernetes.ts). NO KUBERNETES CLUSTER
 * EXISTS here: the client is pointed at the fake through KUBECONFIG.
 *
 * Proves that the runner drives the Secret store: the new password is in the
 * Secret's pending keys before the transaction commits (a refused Secret write
 * leaves no login behind), the Secret's password logs in and verify reads it,
 * a rerun reuses it without writing anything, rotation and an interrupted
 * run's pending password are settled through the Secret, and no password
 * reaches stdout or stderr. PostgreSQL only: the sink does not depend on the engine.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { postgresEngine } from '../../harness/engines.js';
import { expectNoSecrets } from '../../harness/statement-log.js';
import { type CliRun, createScenario, type Scenario, writePolicy } from '../engines/scenario.js';
import { type FakeKubernetes, startFakeKubernetes } from './fake-kubernetes.js';
import { generatePassword } from '../../../src/credentials/password.js';

const NS = 'nova';

describe('apply and verify writing Kubernetes Secrets (fake API server, PostgreSQL)', () => {
  const engine = postgresEngine();
  let s: Scenario;
  let fake: FakeKubernetes;
  const outputs: CliRun[] = [];
  const seen = new Set<string>();
  const run = async (...args: string[]) => {
    const result = await s.cli(...args);
    outputs.push(result);
    return result;
  };
  const secretData = (component: string) => {
    const data = fake.dataOf(NS, `it-${component}`) ?? {};
    for (const value of Object.values(data))
      if (/PW|:\/\//.test(value) || value.length >= 40) seen.add(value);
    if (data.password) seen.add(data.password);
    return data;
  };
  const writes = () => fake.requests.filter((r) => r.method !== 'GET');

  beforeAll(async () => {
    process.stderr.write(
      'kubernetes-apply test: no Kubernetes cluster here; Secrets go to a local fake API server\n',
    );
    fake = await startFakeKubernetes();
    s = await createScenario(engine, {
      setupSql: 'create table services (id serial primary key, host text);',
      policies: [
        { component: 'api', tables: { services: ['select'] } },
        { component: 'scheduler', tables: { services: ['select', 'update'] } },
        { component: 'compute' },
      ],
      config: { credentials: { kubernetes: { namespace: NS, secretName: 'it-{component}' } } },
    });
    vi.stubEnv('KUBECONFIG', fake.kubeconfig(s.dir));
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    // No password, no URL with a password, in anything the CLI printed.
    const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expectNoSecrets(printed, { what: 'what the CLI printed', secrets: [...seen] });
    await s.cleanup();
    await fake.close();
  });

  it('apply writes one basic-auth Secret per component with databases, pending first; verify reads them', async () => {
    const applied = await run('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect(fs.existsSync(path.join(s.dir, 'credentials'))).toBe(false);
    expect([...fake.secrets.keys()].sort()).toEqual([`${NS}/it-api`, `${NS}/it-scheduler`]);
    for (const component of ['api', 'scheduler']) {
      const data = secretData(component);
      expect(data.username).toBe(`${s.app}_${component}`);
      expect(data.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Object.keys(data).sort()).toEqual(['main1-url', 'password', 'username']);
      expect(await engine.whoami(data['main1-url'] ?? '')).toBe(`${s.app}_${component}`);
      // The first write of each Secret carried only the pending password, before the commit.
      const post = fake.requests.find(
        (r) => r.method === 'POST' && JSON.stringify(r.body).includes(`it-${component}`),
      );
      const keys = Object.keys((post?.body as { data: object }).data).sort();
      expect(keys).toEqual([
        'dbwarden.pending.main1-url',
        'dbwarden.pending.password',
        'dbwarden.pending.username',
        'username',
      ]);
    }
    expect(applied.stdout).toContain(`Secret ${NS}/it-api`);
    expect((await run('verify')).code).toBe(0);
  });

  it('a rerun reuses the passwords in the Secrets and writes nothing', async () => {
    const before = secretData('api').password;
    fake.requests.length = 0;
    const again = await run('apply');
    expect(again.code).toBe(0);
    expect(writes()).toEqual([]);
    expect(secretData('api').password).toBe(before);
  });

  it('--rotate-passwords puts the new password in the Secret; the old one stops working', async () => {
    const old = secretData('api');
    const rotated = await run('apply', '--rotate-passwords', '--component', 'api');
    expect(rotated.code).toBe(0);
    const now = secretData('api');
    expect(now.password).not.toBe(old.password);
    expect(Object.keys(now).some((k) => k.startsWith('dbwarden.pending.'))).toBe(false);
    expect(await engine.whoami(now['main1-url'] ?? '')).toBe(`${s.app}_api`);
    await expect(engine.whoami(old['main1-url'] ?? '')).rejects.toThrow();
  });

  it('settles pending passwords an interrupted run left in the Secrets: discards the uncommitted, keeps the committed', async () => {
    const api = secretData('api');
    const scheduler = secretData('scheduler');
    // Of dbwarden's generated form: pending keys with any other password are refused as planted.
    const committed = generatePassword();
    const never = generatePassword();
    seen.add(committed).add(never);
    // scheduler: the run had committed its new password on the server, then died.
    await s.sql(`alter role "${s.app}_scheduler" password '${committed}'`);
    const pending = (password: string, url: string | undefined, username: string | undefined) => ({
      'dbwarden.pending.username': Buffer.from(username ?? '').toString('base64'),
      'dbwarden.pending.password': Buffer.from(password).toString('base64'),
      'dbwarden.pending.main1-url': Buffer.from((url ?? '').replace(/:[^:@/]+@/, `:${password}@`)).toString(
        'base64',
      ),
    });
    Object.assign(
      fake.secrets.get(`${NS}/it-scheduler`)?.data ?? {},
      pending(committed, scheduler['main1-url'], scheduler.username),
    );
    Object.assign(
      fake.secrets.get(`${NS}/it-api`)?.data ?? {},
      pending(never, api['main1-url'], api.username),
    );

    const settled = await run('apply');
    expect(settled.code).toBe(0);
    expect(settled.stderr).toContain('had not committed a new password for api; discarded it');
    expect(settled.stderr).toContain(
      `had set a new password for scheduler; saved it to Secret ${NS}/it-scheduler`,
    );
    expect(secretData('api').password).toBe(api.password);
    expect(secretData('scheduler').password).toBe(committed);
    for (const c of ['api', 'scheduler']) {
      expect(Object.keys(secretData(c)).some((k) => k.startsWith('dbwarden.pending.'))).toBe(false);
    }
    expect((await run('verify')).code).toBe(0);
  });

  it('a Secret that cannot be written stops apply before its transaction: no login without credentials', async () => {
    writePolicy(s.dir, 'conductor', { main: { services: ['select'] } });
    fake.forbidden.add('create');
    const refused = await run('apply');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `cannot create Secret ${NS}/it-conductor: forbidden (HTTP 403 Forbidden)`,
    );
    expect(refused.stderr).toContain('verbs: ["create"]');
    const roles = await s.sql<{ n: string }>(`select count(*)::text as n from pg_roles where rolname = $1`, [
      `${s.app}_conductor`,
    ]);
    expect(roles[0]?.n).toBe('0');
    fake.forbidden.clear();
    expect((await run('apply')).code).toBe(0);
    expect(await engine.whoami(secretData('conductor')['main1-url'] ?? '')).toBe(`${s.app}_conductor`);
  });

  it('a login whose Secret lost its password is refused until rotated, naming the Secret', async () => {
    fake.secrets.delete(`${NS}/it-api`);
    const refused = await run('apply');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`login ${s.app}_api exists but Secret ${NS}/it-api holds no password`);
    expect(refused.stderr).toContain('dbwarden apply --rotate-passwords --component api');
    expect((await run('apply', '--rotate-passwords', '--component', 'api')).code).toBe(0);
    expect(await engine.whoami(secretData('api')['main1-url'] ?? '')).toBe(`${s.app}_api`);
    expect((await run('verify')).code).toBe(0);
  });
});
