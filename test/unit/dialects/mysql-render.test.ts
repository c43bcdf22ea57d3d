/** The exact SQL MariaDB and MySQL 8 get for every kind of change: no I/O. */
import { describe, expect, it } from 'vitest';
import { changeIntent, DEFAULT_ACCOUNT_OPTIONS, type RenderContext } from '../../../src/dialects/dialect.js';
import { parseServerVersion } from '../../../src/dialects/mysql/flavor.js';
import { renderChange } from '../../../src/dialects/mysql/render.js';
import { likePrefix, quoteIdent, quoteLiteral } from '../../../src/dialects/mysql/sql.js';
import type { Change } from '../../../src/plan/types.js';

const NATIVE_HASH = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19';
const mariadb: RenderContext = {
  app: 'nova',
  database: 'nova_api',
  serverVersion: 101119,
  serverFlavor: 'mariadb',
  accounts: DEFAULT_ACCOUNT_OPTIONS,
  passwords: { storedForm: (login) => (login === 'nova_api' ? NATIVE_HASH : undefined) },
};
const SHA2_HASH = '$A$005$abcdefghijABCDEFGHIJ0123456789012345678901234567890123';
const mysql8: RenderContext = {
  ...mariadb,
  serverVersion: 80403,
  serverFlavor: 'mysql',
  accounts: { host: '10.0.%', requireTls: true, maxUserConnections: 20 },
  passwords: { storedForm: () => SHA2_HASH },
};
const base = { target: 'nova_api', component: 'api' };
const sql = (change: Change, context = mariadb) => renderChange(change, context).map((s) => s.sql);
const markOf = (role: string) => [
  'CREATE DATABASE IF NOT EXISTS `dbwarden` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
  'CREATE TABLE IF NOT EXISTS `dbwarden`.`managed_roles` (name VARCHAR(128) NOT NULL PRIMARY KEY, app VARCHAR(64) NOT NULL, marked_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  `INSERT INTO \`dbwarden\`.\`managed_roles\` (name, app) VALUES ('${role}', 'nova') ON DUPLICATE KEY UPDATE app = VALUES(app)`,
];

describe('MariaDB rendering', () => {
  it('creates a role (no host) and a login at the configured host, each recorded as managed', () => {
    expect(sql({ ...base, type: 'create-role', role: 'nova_api_role', kind: 'role' })).toEqual([
      'CREATE ROLE `nova_api_role`',
      ...markOf('nova_api_role'),
    ]);
    const [create, ...mark] = renderChange(
      { ...base, type: 'create-login', role: 'nova_api', kind: 'login' },
      mariadb,
    );
    expect(create?.sql).toBe(`CREATE USER 'nova_api'@'%' IDENTIFIED BY PASSWORD '${NATIVE_HASH}'`);
    expect(create?.display).toBe(
      `CREATE USER 'nova_api'@'%' IDENTIFIED BY PASSWORD '<redacted password hash>'`,
    );
    expect(create?.intent).toBe('create login nova_api');
    expect(mark.map((s) => s.sql)).toEqual(markOf('nova_api'));
  });

  it('grants the role and makes it the default role, so the application needs no SET ROLE', () => {
    expect(
      sql({
        ...base,
        type: 'grant-membership',
        role: 'nova_api_role',
        kind: 'role',
        member: 'nova_api',
        memberKind: 'login',
      }),
    ).toEqual([
      "GRANT `nova_api_role` TO 'nova_api'@'%'",
      "SET DEFAULT ROLE `nova_api_role` FOR 'nova_api'@'%'",
    ]);
    expect(
      sql({
        ...base,
        type: 'revoke-membership',
        role: 'nova_old_role',
        kind: 'role',
        member: 'nova_api',
        memberKind: 'login',
      }),
    ).toEqual(["REVOKE `nova_old_role` FROM 'nova_api'@'%'"]);
  });

  it('grants and revokes table, column and database-level privileges', () => {
    const table = { kind: 'table', schema: 'nova_api', table: 'host_mappings' } as const;
    expect(
      sql({
        ...base,
        type: 'grant',
        role: 'nova_api_role',
        kind: 'role',
        object: table,
        privileges: ['select', 'insert'],
      }),
    ).toEqual(['GRANT SELECT, INSERT ON `nova_api`.`host_mappings` TO `nova_api_role`']);
    expect(
      sql({
        ...base,
        type: 'revoke',
        role: 'nova_api',
        kind: 'login',
        object: table,
        privileges: ['delete', 'grant option'],
      }),
    ).toEqual(["REVOKE DELETE, GRANT OPTION ON `nova_api`.`host_mappings` FROM 'nova_api'@'%'"]);
    expect(
      sql({
        ...base,
        type: 'revoke',
        role: 'nova_api_role',
        kind: 'role',
        object: { kind: 'schema', schema: 'nova\\_api' },
        privileges: ['select'],
      }),
    ).toEqual(['REVOKE SELECT ON `nova\\_api`.* FROM `nova_api_role`']);
    const columns = {
      schema: 'nova_api',
      table: 'cells',
      privilege: 'update',
      columns: ['name', 'uuid'],
    } as const;
    expect(sql({ ...base, type: 'grant-columns', role: 'nova_api_role', kind: 'role', ...columns })).toEqual([
      'GRANT UPDATE (`name`, `uuid`) ON `nova_api`.`cells` TO `nova_api_role`',
    ]);
    expect(sql({ ...base, type: 'revoke-columns', role: 'nova_api_role', kind: 'role', ...columns })).toEqual(
      ['REVOKE UPDATE (`name`, `uuid`) ON `nova_api`.`cells` FROM `nova_api_role`'],
    );
  });

  it('revokes the grant option of a whole table (MySQL has no grant option per privilege)', () => {
    const object = { kind: 'table', schema: 'nova_api', table: 'cells' } as const;
    expect(
      sql({
        ...base,
        type: 'revoke-grant-option',
        role: 'nova_api_role',
        kind: 'role',
        object,
        privileges: ['select'],
      }),
    ).toEqual(['REVOKE GRANT OPTION ON `nova_api`.`cells` FROM `nova_api_role`']);
  });

  it('refuses objects MySQL has no privileges on, and privileges it does not know', () => {
    expect(() =>
      sql({
        ...base,
        type: 'grant',
        role: 'nova_api_role',
        kind: 'role',
        object: { kind: 'database' },
        privileges: ['select'],
      }),
    ).toThrow(/no database privileges/);
    const table = { kind: 'table', schema: 'nova_api', table: 't' } as const;
    expect(() =>
      sql({
        ...base,
        type: 'grant',
        role: 'nova_api_role',
        kind: 'role',
        object: table,
        privileges: ['select; drop'],
      }),
    ).toThrow(/unknown MySQL privilege/);
  });

  it('strips global privileges and fixes login settings; a role has no login settings', () => {
    const statements = renderChange(
      {
        ...base,
        type: 'alter-role',
        role: 'nova_api',
        kind: 'login',
        canLogin: true,
        clear: [
          { attribute: 'global-privilege', privilege: 'grant option' },
          { attribute: 'global-privilege', privilege: 'reload' },
          { attribute: 'max-user-connections', count: 3 },
        ],
        clearAttributes: [
          'global privilege grant option',
          'global privilege reload',
          'max user connections 3',
        ],
      },
      mariadb,
    );
    expect(statements.map((s) => s.sql)).toEqual([
      "ALTER USER 'nova_api'@'%' WITH MAX_USER_CONNECTIONS 0 ACCOUNT UNLOCK",
      "REVOKE ALL PRIVILEGES ON *.* FROM 'nova_api'@'%'",
      "REVOKE GRANT OPTION ON *.* FROM 'nova_api'@'%'",
    ]);
    expect(statements.map((s) => s.intent)).toEqual([
      'alter login nova_api: set MAX_USER_CONNECTIONS to 0, allow login',
      'revoke global privileges (grant option, reload) from nova_api',
      'revoke the global grant option from nova_api',
    ]);
    expect(
      sql({
        ...base,
        type: 'alter-role',
        role: 'nova_api_role',
        kind: 'role',
        canLogin: false,
        clear: [{ attribute: 'global-privilege', privilege: 'process' }],
        clearAttributes: ['global privilege process'],
      }),
    ).toEqual(['REVOKE ALL PRIVILEGES ON *.* FROM `nova_api_role`']);
    expect(() =>
      sql({
        ...base,
        type: 'alter-role',
        role: 'nova_api',
        kind: 'login',
        clear: [{ attribute: 'superuser' }],
        clearAttributes: ['superuser'],
      }),
    ).toThrow(/unknown MySQL account attribute/);
  });

  it('marks an adopted role after setting up the record table, and says so', () => {
    const statements = renderChange(
      { ...base, type: 'adopt-role', role: 'nova_api_role', kind: 'role' },
      mariadb,
    );
    expect(statements.map((s) => s.sql)).toEqual(markOf('nova_api_role'));
    expect(statements.map((s) => s.setup === true)).toEqual([true, true, false]);
    expect(changeIntent(statements)).toBe('mark nova_api_role as managed by dbwarden');
  });

  it('forgets the stale record of an account that is gone', () => {
    expect(sql({ ...base, type: 'forget-role', role: 'nova_old', kind: 'login' })).toEqual([
      "DELETE FROM `dbwarden`.`managed_roles` WHERE name = 'nova_old'",
    ]);
  });

  it('drops the account first, then its record', () => {
    expect(sql({ ...base, type: 'drop-login', role: 'nova_old', kind: 'login' })).toEqual([
      "DROP USER 'nova_old'@'%'",
      "DELETE FROM `dbwarden`.`managed_roles` WHERE name = 'nova_old'",
    ]);
    expect(sql({ ...base, type: 'drop-role', role: 'nova_old_role', kind: 'role' })).toEqual([
      'DROP ROLE `nova_old_role`',
      "DELETE FROM `dbwarden`.`managed_roles` WHERE name = 'nova_old_role'",
    ]);
  });
});

describe('MySQL accounts by the kind the planner gave', () => {
  it('addresses a login at the configured host and a role by the flavor, whatever the name says', () => {
    const revoke = { ...base, type: 'revoke', role: 'nova_x_role', privileges: ['select'] } as const;
    const object = { kind: 'table', schema: 'nova_api', table: 't' } as const;
    expect(sql({ ...revoke, object, kind: 'role' })).toEqual([
      'REVOKE SELECT ON `nova_api`.`t` FROM `nova_x_role`',
    ]);
    expect(sql({ ...revoke, object, kind: 'login' })).toEqual([
      "REVOKE SELECT ON `nova_api`.`t` FROM 'nova_x_role'@'%'",
    ]);
    expect(
      sql({
        ...base,
        type: 'revoke-membership',
        role: 'nova_api_role',
        kind: 'role',
        member: 'nova_x_role',
        memberKind: 'role',
      }),
    ).toEqual(['REVOKE `nova_api_role` FROM `nova_x_role`']);
  });
});

describe('MySQL 8 rendering', () => {
  it('roles are accounts at %; logins get caching_sha2_password, REQUIRE SSL and a connection limit', () => {
    expect(sql({ ...base, type: 'create-role', role: 'nova_api_role', kind: 'role' }, mysql8)[0]).toBe(
      "CREATE ROLE 'nova_api_role'@'%'",
    );
    const [create] = renderChange({ ...base, type: 'create-login', role: 'nova_api', kind: 'login' }, mysql8);
    expect(create?.sql).toBe(
      `CREATE USER 'nova_api'@'10.0.%' IDENTIFIED WITH caching_sha2_password AS '${SHA2_HASH}' REQUIRE SSL WITH MAX_USER_CONNECTIONS 20`,
    );
    expect(create?.display).not.toContain(SHA2_HASH);
    expect(sql({ ...base, type: 'set-password', role: 'nova_api', kind: 'login' }, mysql8)).toEqual([
      `ALTER USER 'nova_api'@'10.0.%' IDENTIFIED WITH caching_sha2_password AS '${SHA2_HASH}'`,
    ]);
  });

  it('sets every granted role as default, and requires TLS where it was missing', () => {
    expect(
      sql(
        {
          ...base,
          type: 'grant-membership',
          role: 'nova_api_role',
          kind: 'role',
          member: 'nova_api',
          memberKind: 'login',
        },
        mysql8,
      ),
    ).toEqual([
      "GRANT 'nova_api_role'@'%' TO 'nova_api'@'10.0.%'",
      "SET DEFAULT ROLE ALL TO 'nova_api'@'10.0.%'",
    ]);
    expect(
      sql(
        {
          ...base,
          type: 'alter-role',
          role: 'nova_api_role',
          kind: 'role',
          canLogin: false,
          clear: [],
          clearAttributes: [],
        },
        mysql8,
      ),
    ).toEqual(["ALTER USER 'nova_api_role'@'%' ACCOUNT LOCK"]);
    expect(
      sql(
        {
          ...base,
          type: 'alter-role',
          role: 'nova_api',
          kind: 'login',
          clear: [{ attribute: 'tls-not-required' }],
          clearAttributes: ['tls not required'],
        },
        mysql8,
      ),
    ).toEqual(["ALTER USER 'nova_api'@'10.0.%' REQUIRE SSL"]);
  });
});

describe('MySQL quoting and versions', () => {
  it('quotes names and literals exactly, and refuses NUL', () => {
    expect(quoteIdent('x`; DROP TABLE y; --')).toBe('`x``; DROP TABLE y; --`');
    expect(quoteLiteral("it's \\ here")).toBe("'it''s \\\\ here'");
    expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
    expect(likePrefix('nova_')).toBe('nova\\_%');
  });

  it('tells MariaDB from MySQL by the version string', () => {
    expect(parseServerVersion('10.11.19-MariaDB-0+deb12u1-log')).toEqual({
      flavor: 'mariadb',
      versionNumber: 101119,
    });
    expect(parseServerVersion('8.4.3')).toEqual({ flavor: 'mysql', versionNumber: 80403 });
  });
});
