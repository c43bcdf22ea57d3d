/**
 * Reviewed plans on every engine: `plan --out FILE` writes the changes and a
 * fingerprint of every target's catalog (and no password); `apply FILE`
 * applies exactly that plan, refuses with exit 3 and changes nothing when a
 * target changed since, and refuses a planfile that is malformed, of another
 * version, edited, or made from other policies with exit 2. `upgrade
 * --dry-run` (and plan) show the store's pending work and change nothing,
 * checked against the catalog, the rows and the server's own statement log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { makePlanfile, type Planfile, serializePlanfile } from '../../../src/runner/planfile.js';
import { ENGINES } from '../../harness/engines.js';
import { insertUsersSql, randomUsers } from './secret-users.js';
import { createScenario, type PolicySpec, type Scenario } from './scenario.js';

/** The planfile's content with a new, matching digest: an edit made by someone who knows the format. */
function resigned(doc: Planfile): string {
  const content: Record<string, unknown> = { ...doc };
  delete content.digest;
  delete content.format;
  delete content.version;
  return serializePlanfile(makePlanfile(content as unknown as Parameters<typeof makePlanfile>[0]));
}

describe.each(ENGINES)('reviewed plans (plan --out, apply FILE) on $title', (engine) => {
  let s: Scenario;
  const basePolicies: PolicySpec[] = [{ component: 'api', tables: { services: ['select'] } }];
  const grown: PolicySpec[] = [
    { component: 'api', tables: { services: ['select', 'update'] } },
    { component: 'worker', tables: { jobs: ['select', 'insert'] } },
  ];
  const state = async () => ({
    accounts: await engine.accounts(`${s.app}_`),
    acls: await engine.tableAcls(s.db),
  });
  const readDoc = (file: string) => JSON.parse(fs.readFileSync(path.join(s.dir, file), 'utf8')) as Planfile;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table services (${engine.serialId}, host text);
                 create table jobs (${engine.serialId}, name text);`,
      policies: basePolicies,
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('on a database dbwarden never touched: plan --out, then apply FILE creates everything', async () => {
    expect(await engine.accounts(`${s.app}_`)).toEqual([]);
    expect((await s.cli('plan', '--out', 'first.plan')).code).toBe(0);
    const applied = await s.cli('apply', 'first.plan');
    expect(applied.stderr).not.toContain('dbwarden:');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Apply: the reviewed plan first.plan');
    expect((await engine.accounts(`${s.app}_`)).map((a) => a.name)).toEqual([
      `${s.app}_api`,
      `${s.app}_api_role`,
    ]);
    expect((await s.cli('verify')).code).toBe(0);
  });

  it('plan --out writes the changes and fingerprints and no password; apply FILE applies exactly that plan', async () => {
    s.writePolicies(grown);
    const planned = await s.cli('plan', '--out', 'reviewed.plan');
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('Saved the reviewed plan to reviewed.plan');

    const text = fs.readFileSync(path.join(s.dir, 'reviewed.plan'), 'utf8');
    const doc = JSON.parse(text) as Planfile;
    expect(doc).toMatchObject({
      format: 'dbwarden-plan',
      version: 1,
      app: s.app,
      options: { components: null, rotatePasswords: false },
    });
    expect(doc.targets).toEqual([
      {
        name: 'main1',
        engine: engine.family === 'postgres' ? 'postgres' : 'mysql',
        database: s.db.name,
        serverVersion: expect.any(String) as string,
        fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
      },
    ]);
    // The planned changes are there: the new login, its grants, api's new privilege.
    const login = doc.changes.find((c) => c.change.type === 'create-login');
    expect(login?.change.role).toBe(`${s.app}_worker`);
    expect(login?.intent).toContain('a new password will be generated');
    expect(doc.changes.map((c) => c.change)).toContainEqual({
      type: 'grant',
      target: 'main1',
      component: 'api',
      role: `${s.app}_api_role`,
      kind: 'role',
      object: { kind: 'table', schema: s.schema, table: 'services' },
      privileges: ['update'],
    });
    // ... and no secret: not api's password (its credential file holds it), no verifier or hash.
    const apiPassword = s.credentials('api').password;
    expect(apiPassword.length).toBeGreaterThanOrEqual(20);
    expect(text).not.toContain(apiPassword);
    expect(text).not.toMatch(/SCRAM-SHA-256|\$A\$00|password"\s*:/i);

    const applied = await s.cli('apply', 'reviewed.plan');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Apply: the reviewed plan reviewed.plan (made ');
    expect(applied.stdout).toContain('wrote credentials/worker.json');
    expect(await engine.whoami(s.credentials('worker').targets.main1?.url ?? '')).toContain(
      `${s.app}_worker`,
    );
    expect(await engine.tableGrantsOf(s.db, 'jobs', `${s.app}_worker_role`)).toEqual(['INSERT', 'SELECT']);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
    expect((await s.cli('verify')).code).toBe(0);
    // The planfile's password change was made by apply, and the file still holds none.
    expect(fs.readFileSync(path.join(s.dir, 'reviewed.plan'), 'utf8')).not.toContain(
      s.credentials('worker').password,
    );
  });

  it('a planned password change says apply generates it; apply FILE rotates exactly the planned component', async () => {
    const oldApi = s.credentials('api').password;
    const oldWorker = s.credentials('worker').password;
    const planned = await s.cli('plan', '--rotate-passwords', '--component', 'api', '--out', 'rotate.plan');
    expect(planned.code).toBe(0);
    const text = fs.readFileSync(path.join(s.dir, 'rotate.plan'), 'utf8');
    const doc = JSON.parse(text) as Planfile;
    expect(doc.options).toEqual({ components: ['api'], rotatePasswords: true });
    expect(doc.changes).toEqual([
      {
        intent: `set a new password for ${s.app}_api (a new password will be generated by apply)`,
        change: {
          type: 'set-password',
          target: 'main1',
          component: 'api',
          role: `${s.app}_api`,
          kind: 'login',
        },
      },
    ]);
    expect(text).not.toContain(oldApi);
    expect(text).not.toContain(oldWorker);

    const applied = await s.cli('apply', 'rotate.plan');
    expect(applied.code).toBe(0);
    const newApi = s.credentials('api').password;
    expect(newApi).not.toBe(oldApi);
    expect(s.credentials('worker').password).toBe(oldWorker);
    expect(await engine.whoami(s.credentials('api').targets.main1?.url ?? '')).toContain(`${s.app}_api`);
    expect(fs.readFileSync(path.join(s.dir, 'rotate.plan'), 'utf8')).not.toContain(newApi);
  });

  it('apply FILE exits 3 naming the target, changing nothing, when an admin granted a privilege since the plan', async () => {
    s.writePolicies([
      grown[0] as PolicySpec,
      { component: 'worker', tables: { jobs: ['select', 'insert', 'update'] } },
    ]);
    expect((await s.cli('plan', '--out', 'drift.plan')).code).toBe(0);
    expect(readDoc('drift.plan').changes.length).toBeGreaterThan(0);
    await s.sql(engine.grantSql('DELETE', 'services', `${s.app}_api_role`));
    const before = await state();

    const refused = await s.cli('apply', 'drift.plan');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('target main1 changed since the plan was made; run plan again');
    expect(refused.stderr).toContain('nothing was changed');
    expect(await state()).toEqual(before);
    expect(await engine.tableGrantsOf(s.db, 'jobs', `${s.app}_worker_role`)).toEqual(['INSERT', 'SELECT']);

    // A new plan covers the drift too, and applies.
    expect((await s.cli('plan', '--out', 'drift.plan')).code).toBe(0);
    expect((await s.cli('apply', 'drift.plan')).code).toBe(0);
    expect(await engine.tableGrantsOf(s.db, 'services', `${s.app}_api_role`)).toEqual(['SELECT', 'UPDATE']);
    expect((await s.cli('verify')).code).toBe(0);
  });

  it('a planfile that is malformed, of another version, edited or made from other policies exits 2, changing nothing', async () => {
    s.writePolicies([
      { component: 'api', tables: { services: ['select', 'update', 'insert'] } },
      { component: 'worker', tables: { jobs: ['select', 'insert', 'update'] } },
    ]);
    expect((await s.cli('plan', '--out', 'good.plan')).code).toBe(0);
    const doc = readDoc('good.plan');
    const grantIndex = doc.changes.findIndex((c) => c.change.type === 'grant');
    expect(grantIndex).toBeGreaterThanOrEqual(0);
    const before = await state();
    const edit = (fn: (d: Planfile & { changes: { change: Record<string, unknown> }[] }) => void) => {
      const copy = structuredClone(doc) as Planfile & { changes: { change: Record<string, unknown> }[] };
      fn(copy);
      return copy;
    };
    const cases: { name: string; text: string; expected: string }[] = [
      { name: 'notjson.plan', text: '{"format": "dbwarden-plan",', expected: 'not JSON' },
      {
        name: 'other.plan',
        text: JSON.stringify({ format: 'terraform', version: 1 }),
        expected: 'not a dbwarden plan',
      },
      {
        name: 'v2.plan',
        text: JSON.stringify({ ...doc, version: 2 }),
        expected: 'version 2 is not one this dbwarden',
      },
      {
        name: 'edited.plan',
        text: JSON.stringify(
          edit((d) => {
            (d.changes[grantIndex] as { change: Record<string, unknown> }).change.privileges = ['delete'];
          }),
        ),
        expected: 'does not match its digest',
      },
      {
        name: 'resigned.plan',
        text: resigned(
          edit((d) => {
            (d.changes[grantIndex] as { change: Record<string, unknown> }).change.privileges = ['delete'];
          }),
        ),
        expected: 'its changes are not the ones dbwarden plans',
      },
      {
        name: 'injected.plan',
        text: resigned(
          edit((d) => {
            const change = (d.changes[grantIndex] as { change: Record<string, unknown> }).change;
            change.object = { kind: 'table', schema: s.schema, table: 'jobs"; DROP TABLE services; --' };
          }),
        ),
        expected: 'its changes are not the ones dbwarden plans',
      },
      {
        name: 'invisible.plan',
        text: resigned(
          edit((d) => {
            (d.changes[grantIndex] as { change: Record<string, unknown> }).change.role =
              `${s.app}_api\u200b_role`;
          }),
        ),
        expected: 'contains the control or invisible character U+200B',
      },
      {
        name: 'extra-key.plan',
        text: resigned(
          edit((d) => {
            (d.changes[grantIndex] as { change: Record<string, unknown> }).change.sql = 'DROP TABLE services';
          }),
        ),
        expected: 'does not match the planfile format',
      },
    ];
    for (const c of cases) {
      fs.writeFileSync(path.join(s.dir, c.name), c.text);
      const result = await s.cli('apply', c.name);
      expect({ file: c.name, code: result.code }).toEqual({ file: c.name, code: 2 });
      expect(result.stderr).toContain(`planfile ${c.name}`);
      expect(result.stderr).toContain(c.expected);
    }
    const unwritable = await s.cli('plan', '--out', 'no-such-dir/x.plan');
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toContain('--out no-such-dir/x.plan: cannot write the planfile (ENOENT)');
    const missing = await s.cli('apply', 'nowhere.plan');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('planfile nowhere.plan: cannot be read (ENOENT)');
    const narrowed = await s.cli('apply', 'good.plan', '--component', 'api');
    expect(narrowed.code).toBe(2);
    expect(narrowed.stderr).toContain('--component and --rotate-passwords go to plan');

    // Policies changed after the plan was made: the plan is for other input.
    s.writePolicies(grown);
    const otherPolicies = await s.cli('apply', 'good.plan');
    expect(otherPolicies.code).toBe(2);
    expect(otherPolicies.stderr).toContain(
      'planfile good.plan was made from other policies or another config',
    );
    expect(await state()).toEqual(before);
    expect((await s.sql('select count(*) as n from services'))[0]).toBeDefined();

    // The untouched planfile, with the policies it was made from, still applies.
    s.writePolicies([
      { component: 'api', tables: { services: ['select', 'update', 'insert'] } },
      { component: 'worker', tables: { jobs: ['select', 'insert', 'update'] } },
    ]);
    const good = await s.cli('apply', 'good.plan', '--format', 'json');
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ planfile: { file: 'good.plan', applied: true } });
    expect(await engine.tableGrantsOf(s.db, 'services', `${s.app}_api_role`)).toEqual([
      'INSERT',
      'SELECT',
      'UPDATE',
    ]);
  });

  it('apply FILE exits 3 when a role with a managed name was created since the plan', async () => {
    expect((await s.cli('apply')).code).toBe(0);
    expect((await s.cli('plan', '--out', 'quiet.plan')).code).toBe(0);
    expect(readDoc('quiet.plan').changes).toEqual([]);
    await s.sql(engine.adoption.setupSql(s.app));
    const before = await state();
    expect(before.accounts.map((a) => a.name)).toContain(`${s.app}_web_role`);
    const refused = await s.cli('apply', 'quiet.plan');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('target main1 changed since the plan was made; run plan again');
    expect(await state()).toEqual(before);
  });
});

describe.each(ENGINES)('upgrade --dry-run and the store in plan on $title', (engine) => {
  let s: Scenario;
  // A name no other test uses: statements naming it in the server's log are this test's.
  const table = `pf_${randomBytes(4).toString('hex')}`;
  const users = randomUsers(40);
  const KEY1 = randomBytes(32).toString('base64');
  const KEY2 = randomBytes(32).toString('base64');

  const snapshot = async () => ({
    accounts: await engine.accounts(`${s.app}_`),
    acls: await engine.tableAcls(s.db),
    columns: await s.sql(
      `SELECT table_name AS t, column_name AS c, data_type AS d, character_maximum_length AS l
       FROM information_schema.columns WHERE table_schema = '${s.schema}' ORDER BY 1, 2`,
    ),
    rows: await s.sql(`SELECT * FROM ${table} ORDER BY id`),
  });
  const setMasterKey = (masterKey: unknown) => {
    const file = path.join(s.dir, 'dbwarden.yaml');
    const config = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, stringify({ ...config, masterKey }));
  };

  /** Runs `upgrade --dry-run` between a marker and the end of the log; returns its output and the log after the marker. */
  async function dryRun(...extra: string[]) {
    const marker = `dbwarden-dry-run-${randomUUID()}`;
    await s.sql(`select '${marker}'`);
    const result = await s.cli('upgrade', '--dry-run', ...extra);
    const closing = `dbwarden-dry-run-end-${randomUUID()}`;
    await s.sql(`select '${closing}'`);
    const log = engine.statementLog;
    expect(log, 'the test server logs every statement (test/harness)').toBeDefined();
    const statements = (await (log as NonNullable<typeof log>).statementsAfter(marker)).filter(
      (st) => !st.includes(closing),
    );
    return { result, statements };
  }
  const ours = (statements: readonly string[]) =>
    statements.filter((st) => st.includes(table) || st.includes(s.app));
  const WRITE =
    /^\s*(insert|update|delete|replace|create|alter|drop|grant|revoke|rename|truncate|comment|set\s+password|set\s+default\s+role)\b|advisory_lock|get_lock\s*\(/i;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE ${table} (id int primary key, access_key varchar(64), secret_key varchar(64));
                 ${insertUsersSql(users).replace('INSERT INTO users', `INSERT INTO ${table}`)}`,
      policies: [{ component: 'api', tables: { [table]: ['select', 'update'] } }],
      config: {
        secrets: [{ kind: 'main', table, primaryKey: 'id', columns: ['access_key', 'secret_key'] }],
        masterKey: { current: { id: 'k1', env: 'KEY1' } },
      },
      env: { KEY1, KEY2 },
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('shows the migrations, rows to encrypt and role changes, and changes nothing', async () => {
    const before = await snapshot();
    expect(before.rows).toHaveLength(40);
    const { result, statements } = await dryRun();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`+ create login ${s.app}_api`);
    expect(result.stdout).toContain(
      "Encrypted store (upgrade's secrets step; current key k1):\n  target main1: migrations to run: 001_key_columns, 002_encrypt",
    );
    expect(result.stdout).toContain(`    table ${table}: 40 rows to encrypt (plaintext)`);
    expect(result.stdout).toMatch(/Upgrade \(dry run\): roles: \d+ to add/);
    expect(result.stdout).toContain('nothing was changed.');
    expect(await snapshot()).toEqual(before);
    // The log holds the dry run's reads of this table, and no write, lock or DDL of this test's objects.
    expect(ours(statements).length).toBeGreaterThan(0);
    expect(ours(statements).filter((st) => WRITE.test(st))).toEqual([]);
    expect(
      statements.filter((st) => /dbwarden_(migrations|secret_columns)/.test(st) && WRITE.test(st)),
    ).toEqual([]);
    expect(fs.existsSync(path.join(s.credentialsDir, 'api.json'))).toBe(false);

    const json = await s.cli('upgrade', '--dry-run', '--format', 'json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: true,
      upToDate: false,
      store: {
        currentKeyId: 'k1',
        targets: [
          {
            target: 'main1',
            migrations: ['001_key_columns', '002_encrypt'],
            tables: [{ table, encrypt: 40, reencrypt: [] }],
          },
        ],
      },
    });
    // plan shows the same pending store work.
    const planned = await s.cli('plan');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(`    table ${table}: 40 rows to encrypt (plaintext)`);
  });

  it('after a rotation shows the rows to re-encrypt per key id, and changes nothing', async () => {
    const upgraded = await s.cli('upgrade');
    expect(upgraded.code).toBe(0);
    setMasterKey({ current: { id: 'k2', env: 'KEY2' }, previous: [{ id: 'k1', env: 'KEY1' }] });
    const before = await snapshot();
    expect(before.rows.every((r) => String(r.secret_key).startsWith('dbwarden:1:'))).toBe(true);

    const { result, statements } = await dryRun();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  target main1: no migrations to run');
    expect(result.stdout).toContain(`    table ${table}: 40 rows to re-encrypt from key k1`);
    expect(result.stdout).toContain('Upgrade (dry run): roles: no changes');
    expect(await snapshot()).toEqual(before);
    expect(ours(statements).length).toBeGreaterThan(0);
    expect(ours(statements).filter((st) => WRITE.test(st))).toEqual([]);

    // The real upgrade then does what the dry run said.
    const rotated = await s.cli('upgrade', '--format', 'json');
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ targets: [{ rowsReencrypted: 40 }] });
    const after = await s.cli('upgrade', '--dry-run');
    expect(after.stdout).toContain(`    table ${table}: nothing to encrypt`);
    expect(after.stdout).toContain('Upgrade (dry run): nothing to do; nothing was changed.');
  });

  it('exits 2 with nothing written when the check step refuses (a key the data needs is missing)', async () => {
    setMasterKey({ current: { id: 'k3', env: 'KEY1' } });
    const before = await snapshot();
    const { result } = await dryRun();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('upgrade stopped at step "check"');
    expect(await snapshot()).toEqual(before);
  });
});
