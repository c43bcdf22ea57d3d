/**
 * A component on two servers (Nova cells on their own servers): a rotation
 * that died after one server took the new password is finished by the next
 * apply, which sets that password on the other server too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  uniqueName,
  withClient,
} from '../../harness/databases.js';
import { type PostgresServer, startSecondPostgres } from '../../harness/postgres.js';
import { runCli, writeDeployment, writePolicy } from '../engines/scenario.js';
import { generatePassword } from '../../../src/credentials/password.js';

describe('one component on two servers', () => {
  const app = uniqueName('s').slice(0, 20);
  let second: PostgresServer;
  let dbs: TestDatabase[] = [];
  let dir: string;
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };
  const cli = (...args: string[]) => runCli(dir, env, args);
  const credentials = () =>
    JSON.parse(fs.readFileSync(path.join(dir, 'credentials', 'api.json'), 'utf8')) as {
      password: string;
      targets: Record<string, { url: string }>;
    };

  beforeAll(async () => {
    second = await startSecondPostgres();
    dbs = [await createDatabase(inject('pgAdminUrl')), await createDatabase(second.adminUrl)];
    for (const db of dbs)
      await withClient(db.url, (c) => c.query('create table instances (id serial primary key, host text)'));
    env.CELL1_URL = dbs[0]?.url;
    env.CELL2_URL = dbs[1]?.url;
    dir = writeDeployment(app, [
      { name: 'cell1', kind: 'cell1', urlVariable: 'CELL1_URL' },
      { name: 'cell2', kind: 'cell2', urlVariable: 'CELL2_URL' },
    ]);
    const tables = { instances: ['select', 'update'] };
    writePolicy(dir, 'api', { cell1: tables, cell2: tables });
  });
  afterAll(async () => {
    await dbs[0]?.drop();
    await dropRolesWithPrefix(inject('pgAdminUrl'), `${app}_`);
    await second.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finishes a rotation that only one server took', async () => {
    const applied = await cli('apply', '--format', 'json');
    expect(applied.code).toBe(0);
    const { changes } = JSON.parse(applied.stdout) as { changes: { type: string; target: string }[] };
    // Two servers: the login is created on each.
    expect(changes.filter((c) => c.type === 'create-login').map((c) => c.target)).toEqual(['cell1', 'cell2']);
    expect((await cli('verify')).code).toBe(0);

    // As if a rotation had committed on cell1's server and died before cell2's.
    const before = credentials();
    const password = generatePassword(); // dbwarden's form: anything else is refused as planted
    await withClient(dbs[0]?.url as string, (c) => c.query(`alter role "${app}_api" password '${password}'`));
    const targets = Object.fromEntries(
      Object.entries(before.targets).map(([name, { url }]) => [
        name,
        { url: url.replace(before.password, password) },
      ]),
    );
    fs.writeFileSync(
      path.join(dir, 'credentials', '.api.json.pending'),
      JSON.stringify({ ...before, password, targets }),
      { mode: 0o600 },
    );

    const settled = await cli('apply');
    expect(settled.stderr).toContain(
      'targets cell2 still have the old password of api; setting the new one everywhere',
    );
    expect(settled.code).toBe(0);
    expect(credentials().password).toBe(password);
    expect((await cli('verify')).code).toBe(0);
    expect((await cli('plan', '--exit-code')).code).toBe(0);
  });
});
