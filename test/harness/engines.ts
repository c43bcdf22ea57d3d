/**
 * The table of engines the shared integration scenarios (test/integration/engines/) run on: one
 * TestEngine per server started by global-setup.ts, holding everything engine-specific a test needs
 * (connections, quoting, catalog reads, error codes, what the server's statement log looks like), so
 * each scenario is written once and run on every engine:
 *
 *   describe.each(ENGINES)('drift on $title', (engine) => { ... });
 *
 * DBWARDEN_TEST_ENGINES (engine-selection.ts) selects the engines; global-setup.ts reads it once and
 * passes the list on as inject('testEngines').
 */
import { readSync, openSync, closeSync, fstatSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  withClient,
} from './databases.js';
import type { EngineFamily } from './engine-selection.js';
import {
  createMysqlDatabase,
  dropMysqlAccountsWithPrefix,
  dropMysqlDatabase,
  hasIsRoleColumn,
  hasMarkTable,
  lastRows,
  mysqlIdent,
  mysqlLiteral,
  withMysql,
} from './mysql-databases.js';
import { type StatementLog, statementLog, unreadableLog } from './statement-log.js';

export type Row = Record<string, unknown>;

/** One open connection, engine-neutral: each statement's rows (of the last statement when several). */
export interface SqlConnection {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/** A role or login as the server has it (for "what did dbwarden make"). */
export interface Account {
  /** The name; `name@host` for a MySQL login at another host than '%'. */
  readonly name: string;
  readonly canLogin: boolean;
  /** Holds more than table access: PostgreSQL role attributes, MySQL global or database privileges. */
  readonly powers: boolean;
  /** dbwarden's mark as the engine stores it (see TestEngine.expectedMark), or null. */
  readonly mark: string | null;
  /** The role a login gets its grants through (PostgreSQL: membership; MySQL: granted default role). */
  readonly via: string | null;
}

/** A table and its grants as the catalog shows them (null: none at all). */
export interface TableAcl {
  readonly table: string;
  readonly acl: string | null;
}

/** What a scenario gives engine hooks: its app name and database. */
export interface ScenarioRef {
  readonly app: string;
  readonly db: TestDatabase;
}

export interface TestEngine {
  readonly name: 'postgres' | 'mariadb' | 'mysql';
  readonly family: EngineFamily;
  /** For test titles: PostgreSQL, MariaDB, MySQL. */
  readonly title: string;
  readonly version: string;
  /** The scheme of admin and credential URLs. */
  readonly urlScheme: 'postgresql' | 'mysql';
  /** The server's admin URL (holds a password: never print it). */
  adminUrl(): string;
  /**
   * The server's own statement log. A server given by URL has none the tests can read: its reads
   * fail, saying so (a test that checks the log fails rather than passing without looking).
   */
  readonly statementLog: StatementLog;
  /** The server came from DBWARDEN_TEST_PG_URL / DBWARDEN_TEST_MYSQL_URL (not started by the tests). */
  readonly givenByUrl: boolean;
  /** Is DDL (roles, grants) transactional, so a failed or killed apply leaves nothing behind? */
  readonly transactionalDdl: boolean;
  /** Error codes of a statement refused for lack of privileges (pg: SQLSTATE; mysql2: `code`). */
  readonly deniedCodes: readonly string[];
  /** Error code of a login refused for a wrong password. */
  readonly authFailedCode: string;
  /** Column definition of an auto-numbered integer primary key named id. */
  readonly serialId: string;
  /** A table privilege beyond the four verbs: SQL keyword and how dbwarden names it. */
  readonly extraPrivilege: { readonly sql: string; readonly word: string };
  /** SQL text of the statements dbwarden must not run on a failure path (its messages name intents). */
  readonly rawSqlWords: readonly string[];

  ident(name: string): string;
  literal(value: string): string;
  /** The schema plan output shows for tables of a policy without `schema:` on this database. */
  defaultSchema(db: TestDatabase): string;

  createDatabase(name?: string): Promise<TestDatabase>;
  dropDatabase(name: string): Promise<void>;
  /** Drops every role and login (every host) whose name starts with prefix, and their marks. */
  dropRolesWithPrefix(prefix: string): Promise<void>;

  connect<T>(url: string, fn: (c: SqlConnection) => Promise<T>): Promise<T>;
  /** Runs SQL (several statements allowed when there are no params); rows of the last statement. */
  query<R extends Row = Row>(url: string, sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs fn as the given login URL inside a transaction that is always rolled back. */
  asLogin<T>(url: string, fn: (c: SqlConnection) => Promise<T>): Promise<T>;
  /** 'ok', or the error code of a statement run inside a savepoint (inside asLogin). */
  outcome(c: SqlConnection, sql: string): Promise<string>;
  /** Logs in with the URL and returns the user name the server sees (rejects with the error). */
  whoami(url: string): Promise<string>;

  /** Roles and logins whose name starts with prefix, sorted by name. */
  accounts(prefix: string): Promise<Account[]>;
  /** The mark dbwarden leaves on the roles it manages for app, as accounts() reports it. */
  expectedMark(app: string): string;
  /** The privileges (upper case, sorted) grantee holds on a table of the database. */
  tableGrantsOf(db: TestDatabase, table: string, grantee: string): Promise<string[]>;
  /** Every table of the database (and, on PostgreSQL, the catalogs) with its grants. */
  tableAcls(db: TestDatabase): Promise<TableAcl[]>;

  grantSql(privileges: string, table: string, grantee: string): string;
  revokeSql(privileges: string, table: string, grantee: string): string;
  /** Sets a login's password by hand, as if another dbwarden run had. */
  setPasswordSql(login: string, password: string): string;
  /** Creates tables t0..t(count-1), each `(id <serial>, a text)`, in as few round trips as possible. */
  manyTablesSql(count: number): string;

  /** The log shows the login being created with a password verifier (never the password). */
  loginCreatedPattern(login: string): RegExp;
  /** The log shows the login's password set anew (apply --rotate-passwords), with a verifier or hash. */
  passwordSetPattern(login: string): RegExp;
  /** The log shows a GRANT of privilege on the table to the role. */
  grantLoggedPattern(schema: string, table: string, privilege: string, role: string): RegExp;
  /** A logged statement that changes roles, grants or marks (for "a no-op apply runs nothing"). */
  readonly changeStatement: RegExp;

  /**
   * Waits until a dbwarden session on this database is running a statement that starts with
   * `prefix` and names the app; false if `gone()` turns true or the time is up first.
   */
  waitForStatement(s: ScenarioRef, prefix: string, gone: () => boolean): Promise<boolean>;

  /** A way to make the server refuse the drop of a removed component's role (failure scenario). */
  readonly refuseDrop: {
    block(s: ScenarioRef, component: string): Promise<void>;
    unblock(s: ScenarioRef, component: string): Promise<void>;
    /** What stderr of the refused apply must contain. */
    expectedErrors(s: ScenarioRef, component: string): string[];
  };

  /** An unmarked role with a managed name and an extra grant, plus an unrelated role (adoption). */
  readonly adoption: {
    setupSql(app: string): string;
    expectedPlanLines(app: string, schema: string): string[];
  };

  /** The two-target scenario's admin: PostgreSQL a non-superuser (CREATEROLE, owner); MySQL root. */
  targetAdmin(app: string, dbs: readonly TestDatabase[]): Promise<TargetAdmin>;

  /** Facts about the admin session, for the harness checks. */
  adminFacts(): Promise<{ overTcp: boolean; allPrivileges: boolean; logsStatements: boolean }>;
  /** Makes a few roles and logins named prefix_* holding grants in db (for the cleanup check). */
  makeAccountsForCleanup(prefix: string, db: TestDatabase): Promise<void>;
}

export interface TargetAdmin {
  /** Admin URL of the database for dbwarden. */
  urlOf(db: TestDatabase): string;
  /** Runs setup SQL on the database as that admin. */
  setup(db: TestDatabase, sql: string): Promise<void>;
  /** The admin's password, which must appear in no credential file ('' when it is the server's root). */
  readonly password: string;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ------------------------------------------------------------------------------------------ PostgreSQL

function pgConnection(c: pg.Client): SqlConnection {
  return {
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      const result = (await c.query(sql, params ? [...params] : undefined)) as
        pg.QueryResult<R> | pg.QueryResult<R>[];
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return last?.rows ?? [];
    },
  };
}

export function postgresEngine(): TestEngine {
  const url = () => inject('pgAdminUrl');
  const logFile = inject('pgLogFile');
  const ident = (name: string) => pg.escapeIdentifier(name);
  const connect = <T>(u: string, fn: (c: SqlConnection) => Promise<T>) =>
    withClient(u, (c) => fn(pgConnection(c)));
  const query = <R extends Row>(u: string, sql: string, params?: readonly unknown[]) =>
    connect(u, (c) => c.query<R>(sql, params));

  return {
    name: 'postgres',
    family: 'postgres',
    title: 'PostgreSQL',
    version: inject('pgVersion'),
    urlScheme: 'postgresql',
    adminUrl: url,
    statementLog:
      logFile === ''
        ? unreadableLog(
            'the PostgreSQL server of DBWARDEN_TEST_PG_URL logs where the tests cannot read; unset it to let the tests start one',
          )
        : statementLog(logFile, 'postgres'),
    givenByUrl: Boolean(process.env.DBWARDEN_TEST_PG_URL),
    transactionalDdl: true,
    deniedCodes: ['42501'],
    authFailedCode: '28P01',
    serialId: 'id serial primary key',
    extraPrivilege: { sql: 'TRUNCATE', word: 'truncate' },
    rawSqlWords: ['DROP ROLE'],
    ident,
    literal: (value) => pg.escapeLiteral(value),
    defaultSchema: () => 'public',
    createDatabase: (name) => createDatabase(url(), name),
    dropDatabase: (name) => dropDatabase(url(), name),
    dropRolesWithPrefix: (prefix) => dropRolesWithPrefix(url(), prefix),
    connect,
    query,
    asLogin: (u, fn) =>
      withClient(u, async (client) => {
        await client.query('BEGIN');
        try {
          return await fn(pgConnection(client));
        } finally {
          await client.query('ROLLBACK');
        }
      }),
    outcome: outcomeInSavepoint,
    async whoami(u) {
      const rows = await query<{ u: string }>(u, 'select current_user as u');
      return String(rows[0]?.u);
    },

    async accounts(prefix) {
      const rows = await query<{
        name: string;
        login: boolean;
        powers: boolean;
        mark: string | null;
        via: string | null;
      }>(
        url(),
        `select r.rolname as name, r.rolcanlogin as login,
                r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolreplication or r.rolbypassrls as powers,
                shobj_description(r.oid, 'pg_authid') as mark,
                (select string_agg(g.rolname, ', ' order by g.rolname)
                   from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid) as via
         from pg_roles r where starts_with(r.rolname, $1)`,
        [prefix],
      );
      return rows
        .map((r) => ({ name: r.name, canLogin: r.login, powers: r.powers, mark: r.mark, via: r.via }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    expectedMark: (app) =>
      `dbwarden: managed role of app ${app}; manual changes are reverted by dbwarden apply`,
    async tableGrantsOf(db, table, grantee) {
      const rows = await query<{ p: string }>(
        db.url,
        `select privilege_type as p from information_schema.role_table_grants
         where grantee = $1 and table_name = $2 order by 1`,
        [grantee, table],
      );
      return rows.map((r) => r.p);
    },
    async tableAcls(db) {
      const rows = await query<{ relname: string; relacl: string | null }>(
        db.url,
        'select relname, relacl::text from pg_class where relkind = $1 order by 1',
        ['r'],
      );
      return rows.map((r) => ({ table: r.relname, acl: r.relacl }));
    },

    grantSql: (privileges, table, grantee) => `GRANT ${privileges} ON ${ident(table)} TO ${ident(grantee)}`,
    revokeSql: (privileges, table, grantee) =>
      `REVOKE ${privileges} ON ${ident(table)} FROM ${ident(grantee)}`,
    setPasswordSql: (login, password) => `ALTER ROLE ${ident(login)} PASSWORD ${pg.escapeLiteral(password)}`,
    manyTablesSql: (count) =>
      `do $$ begin for i in 0..${count - 1} loop execute format('create table t%s (id serial primary key, a text)', i); end loop; end $$;`,

    loginCreatedPattern: (login) =>
      new RegExp(`CREATE ROLE "${escapeRegExp(login)}" LOGIN .* PASSWORD 'SCRAM-SHA-256\\$4096:`),
    passwordSetPattern: (login) =>
      new RegExp(`ALTER ROLE "${escapeRegExp(login)}" PASSWORD 'SCRAM-SHA-256\\$4096:`),
    grantLoggedPattern: (schema, table, privilege, role) =>
      new RegExp(
        escapeRegExp(
          `GRANT ${privilege.toUpperCase()} ON TABLE ${ident(schema)}.${ident(table)} TO ${ident(role)}`,
        ),
      ),
    changeStatement: /\b(GRANT|REVOKE|CREATE|ALTER|DROP|COMMENT)\b/i,

    async waitForStatement(s, prefix, gone) {
      // A deadline, not a count of polls: a busy machine may take seconds to start the apply.
      const deadline = Date.now() + 60_000;
      return withClient(url(), async (c) => {
        while (!gone() && Date.now() < deadline) {
          const { rowCount } = await c.query(
            "select 1 from pg_stat_activity where application_name = 'dbwarden' and datname = $1 and query like $2",
            [s.db.name, `${prefix} %`],
          );
          if ((rowCount ?? 0) > 0) return true;
        }
        return false;
      });
    },

    refuseDrop: {
      // PostgreSQL refuses to drop a role that owns a table.
      block: async (s, component) => {
        await query(s.db.url, `alter table leftovers owner to ${ident(`${s.app}_${component}_role`)}`);
      },
      unblock: async (s) => {
        await query(s.db.url, 'alter table leftovers owner to current_user');
      },
      expectedErrors: (s, component) => {
        const role = `${s.app}_${component}_role`;
        return [
          `target main1: could not drop role ${role}: role "${role}" cannot be dropped because some objects depend on it (SQLSTATE 2BP01)`,
        ];
      },
    },

    adoption: {
      setupSql: (app) =>
        `create role "${app}_legacy" nologin; grant select, delete on services to "${app}_legacy";
         create role "${app}_web_role" nologin createdb; grant truncate on services to "${app}_web_role";`,
      expectedPlanLines: (app, schema) => [
        `~ mark ${app}_web_role as managed by dbwarden`,
        `~ alter role ${app}_web_role: remove createdb`,
        `- revoke truncate on table ${schema}.services from ${app}_web_role`,
      ],
    },

    async targetAdmin(app, dbs) {
      // As on managed cloud databases: CREATEROLE and owner of the databases, not a superuser.
      const admin = `${app}adm`;
      const password = 'admin-pw-not-a-secret-in-tests';
      await query(
        url(),
        `create role ${ident(admin)} login createrole password ${pg.escapeLiteral(password)}`,
      );
      for (const db of dbs) await query(url(), `alter database ${ident(db.name)} owner to ${ident(admin)}`);
      const urlOf = (db: TestDatabase) => {
        const u = new URL(db.url);
        u.username = admin;
        u.password = password;
        return u.toString();
      };
      return {
        urlOf,
        password,
        setup: async (db, sql) => {
          await query(urlOf(db), sql);
        },
        cleanup: async () => {
          await query(url(), `drop role if exists ${ident(admin)}`);
        },
      };
    },

    async adminFacts() {
      const rows = await query<{ superuser: string; addr: string | null; log: string }>(
        url(),
        `select current_setting('is_superuser') as superuser, inet_server_addr()::text as addr,
                current_setting('log_statement') as log`,
      );
      const row = rows[0];
      return {
        // inet_server_addr() is null on a unix socket.
        overTcp: row?.addr !== null && row?.addr !== undefined,
        allPrivileges: row?.superuser === 'on',
        logsStatements: row?.log === 'all',
      };
    },
    async makeAccountsForCleanup(prefix, db) {
      await query(
        db.url,
        `create role ${prefix}_owner login password 'x';
         create role ${prefix}_reader login password 'y';
         create schema s authorization ${prefix}_owner;
         create table s.t (id int);
         alter table s.t owner to ${prefix}_owner;
         grant usage on schema s to ${prefix}_reader;
         grant select on s.t to ${prefix}_reader;
         grant connect on database ${db.name} to ${prefix}_reader;`,
      );
    },
  };
}

// ----------------------------------------------------------------------------------- MariaDB / MySQL

function mysqlConnection(c: mysql.Connection): SqlConnection {
  return {
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      const [result] = await c.query(sql, params ? [...params] : undefined);
      return lastRows<R>(result);
    },
  };
}

/** The statements of the general log appended after `offset`, and the new offset. */
function readGeneralLogFrom(file: string, offset: number): { text: string; offset: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return { text: '', offset };
    const buffer = Buffer.alloc(size - offset);
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    return { text: buffer.subarray(0, read).toString('utf8'), offset: offset + read };
  } finally {
    closeSync(fd);
  }
}

export function mysqlEngine(): TestEngine {
  const url = () => inject('mysqlAdminUrl');
  const flavor = inject('mysqlFlavor') === 'mysql' ? 'mysql' : 'mariadb';
  const logFile = inject('mysqlLogFile');
  const ident = mysqlIdent;
  const connect = <T>(u: string, fn: (c: SqlConnection) => Promise<T>) =>
    withMysql(u, (c) => fn(mysqlConnection(c)));
  const query = <R extends Row>(u: string, sql: string, params?: readonly unknown[]) =>
    connect(u, (c) => c.query<R>(sql, params));
  /** A role as a grantee: MariaDB roles have no host; `role` alone means role@'%' on MySQL 8. */
  const grantee = (name: string) => ident(name);

  return {
    name: flavor,
    family: 'mysql',
    title: flavor === 'mariadb' ? 'MariaDB' : 'MySQL',
    version: inject('mysqlVersion'),
    urlScheme: 'mysql',
    adminUrl: url,
    statementLog:
      logFile === ''
        ? unreadableLog(
            'the server of DBWARDEN_TEST_MYSQL_URL logs where the tests cannot read; unset it to let the tests start one',
          )
        : statementLog(logFile, 'mysql-general'),
    givenByUrl: Boolean(process.env.DBWARDEN_TEST_MYSQL_URL),
    transactionalDdl: false,
    deniedCodes: ['ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR'],
    authFailedCode: 'ER_ACCESS_DENIED_ERROR',
    serialId: 'id int auto_increment primary key',
    extraPrivilege: { sql: 'ALTER', word: 'alter' },
    rawSqlWords: ['DROP ROLE', 'DROP USER', 'DELETE FROM'],
    ident,
    literal: mysqlLiteral,
    defaultSchema: (db) => db.name,
    createDatabase: (name) => createMysqlDatabase(url(), name),
    dropDatabase: (name) => dropMysqlDatabase(url(), name),
    dropRolesWithPrefix: (prefix) => dropMysqlAccountsWithPrefix(url(), prefix),
    connect,
    query,
    async asLogin(u, fn) {
      const c = await mysql.createConnection({ uri: u });
      c.on('error', (err: Error) => process.stderr.write(`asLogin: connection error: ${err.message}\n`));
      try {
        await c.query('START TRANSACTION');
        try {
          return await fn(mysqlConnection(c));
        } finally {
          await c.query('ROLLBACK');
        }
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    outcome: outcomeInSavepoint,
    async whoami(u) {
      const c = await mysql.createConnection({ uri: u });
      try {
        const [rows] = await c.query<mysql.RowDataPacket[]>(
          "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS u",
        );
        return String(rows[0]?.u);
      } finally {
        await c.end().catch(() => undefined);
      }
    },

    async accounts(prefix) {
      return withMysql(url(), async (c) => {
        const mariadbRoles = await hasIsRoleColumn(c);
        const [users] = await c.query<mysql.RowDataPacket[]>(
          'SELECT * FROM mysql.user WHERE LEFT(User, CHAR_LENGTH(?)) = ? ORDER BY User, Host',
          [prefix, prefix],
        );
        const marks = new Map<string, string>();
        if (await hasMarkTable(c)) {
          const [rows] = await c.query<mysql.RowDataPacket[]>(
            'SELECT name AS n, app AS a FROM dbwarden.managed_roles WHERE LEFT(name, CHAR_LENGTH(?)) = ?',
            [prefix, prefix],
          );
          for (const r of rows) marks.set(String(r.n), `app=${String(r.a)}`);
        }
        const result: Account[] = [];
        for (const u of users) {
          const user = String(u.User);
          const host = String(u.Host);
          const isRole = mariadbRoles ? u.is_role === 'Y' : u.account_locked === 'Y';
          const globalPowers = Object.entries(u).some(([k, v]) => /_priv$/i.test(k) && v === 'Y');
          const [dbRows] = await c.query<mysql.RowDataPacket[]>(
            'SELECT 1 FROM mysql.db WHERE User = ? AND Host = ?',
            [user, host],
          );
          let via: string | null = null;
          if (!isRole) {
            const [granted] = mariadbRoles
              ? await c.query<mysql.RowDataPacket[]>(
                  'SELECT Role AS r FROM mysql.roles_mapping WHERE User = ? AND Host = ? ORDER BY 1',
                  [user, host],
                )
              : await c.query<mysql.RowDataPacket[]>(
                  'SELECT FROM_USER AS r FROM mysql.role_edges WHERE TO_USER = ? AND TO_HOST = ? ORDER BY 1',
                  [user, host],
                );
            const [defaults] = mariadbRoles
              ? [[{ r: u.default_role as unknown }]]
              : await c.query<mysql.RowDataPacket[]>(
                  'SELECT DEFAULT_ROLE_USER AS r FROM mysql.default_roles WHERE USER = ? AND HOST = ?',
                  [user, host],
                );
            const roles = granted.map((g) => String(g.r));
            const defaultRole = defaults.map((d) => String(d.r ?? '')).find((r) => r !== '');
            via =
              defaultRole !== undefined && roles.includes(defaultRole)
                ? defaultRole
                : roles.length > 0
                  ? `${roles.join(', ')} (granted, not the default role)`
                  : null;
          }
          // Logins live at host '%'; MariaDB roles have no host, MySQL 8 roles are accounts at '%'.
          const plainHost = host === '%' || (isRole && host === '');
          result.push({
            name: plainHost ? user : `${user}@${host}`,
            canLogin: !isRole,
            powers: globalPowers || dbRows.length > 0,
            mark: marks.get(user) ?? null,
            via,
          });
          marks.delete(user);
        }
        // A mark whose role is gone is worth seeing too.
        for (const [name, mark] of marks)
          result.push({ name: `${name} (mark only)`, canLogin: false, powers: false, mark, via: null });
        return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      });
    },
    expectedMark: (app) => `app=${app}`,
    async tableGrantsOf(db, table, who) {
      const rows = await query<{ p: string }>(
        url(),
        'SELECT Table_priv AS p FROM mysql.tables_priv WHERE Db = ? AND Table_name = ? AND User = ?',
        [db.name, table, who],
      );
      return rows
        .flatMap((r) => String(r.p).split(','))
        .filter((p) => p !== '')
        .map((p) => p.toUpperCase())
        .sort();
    },
    async tableAcls(db) {
      const tables = await query<{ t: string }>(
        url(),
        'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1',
        [db.name],
      );
      const grants = await query<{ t: string; g: string }>(
        url(),
        `SELECT Table_name AS t, CONCAT(User, '@', Host, '=', Table_priv, '/', Column_priv) AS g
           FROM mysql.tables_priv WHERE Db = ?
         UNION ALL
         SELECT Table_name, CONCAT(User, '@', Host, '.', Column_name, '=', Column_priv)
           FROM mysql.columns_priv WHERE Db = ?
         ORDER BY 1, 2`,
        [db.name, db.name],
      );
      return tables.map(({ t }) => {
        const acl = grants.filter((g) => g.t === t).map((g) => g.g);
        return { table: t, acl: acl.length > 0 ? acl.join(' ') : null };
      });
    },

    grantSql: (privileges, table, who) => `GRANT ${privileges} ON ${ident(table)} TO ${grantee(who)}`,
    revokeSql: (privileges, table, who) => `REVOKE ${privileges} ON ${ident(table)} FROM ${grantee(who)}`,
    setPasswordSql: (login, password) =>
      `ALTER USER ${ident(login)}@'%' IDENTIFIED BY ${mysqlLiteral(password)}`,
    manyTablesSql: (count) =>
      Array.from(
        { length: count },
        (_, i) => `CREATE TABLE t${i} (id int auto_increment primary key, a text);`,
      ).join('\n'),

    loginCreatedPattern: (login) =>
      new RegExp(
        `(CREATE|ALTER) USER (IF NOT EXISTS )?[\`']${escapeRegExp(login)}[\`']@[\`']%[\`'].*IDENTIFIED`,
        'i',
      ),
    passwordSetPattern: (login) =>
      new RegExp(`ALTER USER [\`']${escapeRegExp(login)}[\`']@[\`']%[\`'] IDENTIFIED`, 'i'),
    grantLoggedPattern: (schema, table, privilege, role) =>
      new RegExp(
        `GRANT\\s.*\\b${escapeRegExp(privilege)}\\b.*\\sON\\s+(TABLE\\s+)?(\`${escapeRegExp(schema)}\`\\.)?` +
          `\`${escapeRegExp(table)}\`\\s+TO\\s+[\`']${escapeRegExp(role)}[\`']`,
        'i',
      ),
    changeStatement:
      /\b(GRANT|REVOKE|CREATE|ALTER|DROP|RENAME|SET\s+DEFAULT\s+ROLE|SET\s+PASSWORD)\b|^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i,

    async waitForStatement(s, prefix, gone) {
      const starts = new RegExp(`^\\s*${escapeRegExp(prefix)}\\s`, 'i');
      const deadline = Date.now() + 60_000;
      if (logFile !== '') {
        // The general log has every statement as it arrives: no race with a fast statement.
        let offset = readGeneralLogFrom(logFile, 0).offset;
        while (!gone() && Date.now() < deadline) {
          const next = readGeneralLogFrom(logFile, offset);
          offset = next.offset;
          // Entries read `<time or tabs>  <thread id> Query\t<statement>`.
          const lines = next.text.split('\n').map((line) => line.replace(/^.*?\d+ (Query|Execute)\t/, ''));
          if (lines.some((line) => starts.test(line) && line.includes(s.app))) return true;
          await sleep(5);
        }
        return false;
      }
      return withMysql(url(), async (c) => {
        while (!gone() && Date.now() < deadline) {
          const [rows] = await c.query<mysql.RowDataPacket[]>(
            'SELECT INFO AS i FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
            [s.db.name],
          );
          if (rows.some((r) => starts.test(String(r.i ?? '')))) return true;
        }
        return false;
      });
    },

    refuseDrop: {
      // MySQL has no dependency that stops DROP USER/ROLE: a trigger on dbwarden's mark table refuses
      // to forget the removed component's roles, so the statement that does fails.
      block: async (s, component) => {
        const prefix = `${s.app}_${component}`;
        await query(
          url(),
          `CREATE TRIGGER dbwarden.${ident(`${s.app}_keep`)} BEFORE DELETE ON dbwarden.managed_roles
           FOR EACH ROW BEGIN
             IF LEFT(OLD.name, ${prefix.length}) = ${mysqlLiteral(prefix)} THEN
               SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${mysqlLiteral(`test refuses to forget ${prefix}`)};
             END IF;
           END`,
        );
      },
      unblock: async (s) => {
        await withMysql(url(), async (c) => {
          if (await hasMarkTable(c))
            await c.query(`DROP TRIGGER IF EXISTS dbwarden.${ident(`${s.app}_keep`)}`);
        });
      },
      expectedErrors: (s, component) => [
        'target main1: could not ',
        `test refuses to forget ${s.app}_${component}`,
      ],
    },

    adoption: {
      setupSql: (app) =>
        `CREATE ROLE ${ident(`${app}_legacy`)}; GRANT SELECT, DELETE ON services TO ${ident(`${app}_legacy`)};
         CREATE ROLE ${ident(`${app}_web_role`)}; GRANT ALTER ON services TO ${ident(`${app}_web_role`)};`,
      expectedPlanLines: (app, schema) => [
        `~ mark ${app}_web_role as managed by dbwarden`,
        `- revoke alter on table ${schema}.services from ${app}_web_role`,
      ],
    },

    // The server's root: dbwarden on MySQL is not tested with a restricted admin yet.
    targetAdmin: () =>
      Promise.resolve({
        urlOf: (db: TestDatabase) => db.url,
        password: '',
        setup: async (db: TestDatabase, sql: string) => {
          await query(db.url, sql);
        },
        cleanup: () => Promise.resolve(),
      }),

    async adminFacts() {
      return withMysql(url(), async (c) => {
        // MySQL 8 lists root's privileges one by one in SHOW GRANTS: read the privilege columns instead.
        const [me] = await c.query<mysql.RowDataPacket[]>(
          "SELECT * FROM mysql.user WHERE CONCAT(User, '@', Host) = CURRENT_USER()",
        );
        const privileges = Object.entries(me[0] ?? {}).filter(([k]) => /_priv$/i.test(k));
        const [session] = await c.query<mysql.RowDataPacket[]>(
          'SELECT HOST AS h, @@general_log AS g FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()',
        );
        return {
          // A TCP client's host is address:port; a socket client's is localhost.
          overTcp: /:\d+$/.test(String(session[0]?.h)),
          allPrivileges: privileges.length > 20 && privileges.every(([, v]) => v === 'Y'),
          logsStatements: Number(session[0]?.g) === 1,
        };
      });
    },
    async makeAccountsForCleanup(prefix, db) {
      await query(
        db.url,
        `CREATE TABLE t (id int);
         CREATE USER ${ident(`${prefix}_owner`)}@'%' IDENTIFIED BY 'x';
         CREATE USER ${ident(`${prefix}_reader`)}@'%' IDENTIFIED BY 'y';
         CREATE USER ${ident(`${prefix}_reader`)}@'localhost' IDENTIFIED BY 'y';
         CREATE ROLE ${ident(`${prefix}_role`)};
         GRANT SELECT ON t TO ${ident(`${prefix}_role`)};
         GRANT ${ident(`${prefix}_role`)} TO ${ident(`${prefix}_reader`)}@'%';
         GRANT ALL ON ${ident(db.name)}.* TO ${ident(`${prefix}_owner`)}@'%';
         GRANT INSERT (id) ON t TO ${ident(`${prefix}_reader`)}@'localhost';`,
      );
    },
  };
}

// -------------------------------------------------------------------------------------------- the table

function buildEngines(): TestEngine[] {
  const selected = inject('testEngines');
  const engines: TestEngine[] = [];
  if (selected.includes('postgres')) engines.push(postgresEngine());
  if (selected.includes('mysql')) {
    if (inject('mysqlAdminUrl') === '') {
      throw new Error(
        'DBWARDEN_TEST_ENGINES selects mysql, but global-setup.ts started no MySQL-family server',
      );
    }
    engines.push(mysqlEngine());
  }
  if (engines.length === 0) throw new Error('no engine selected for the integration tests');
  return engines;
}

/** Every engine this run tests, in a fixed order: PostgreSQL, then MariaDB or MySQL. */
export const ENGINES: readonly TestEngine[] = buildEngines();

/** Both engines have savepoints: a refused statement rolls back to it and the transaction goes on. */
async function outcomeInSavepoint(c: SqlConnection, sql: string): Promise<string> {
  await c.query('SAVEPOINT probe');
  try {
    await c.query(sql);
    await c.query('RELEASE SAVEPOINT probe');
    return 'ok';
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT probe');
    return (err as { code?: string }).code ?? 'error';
  }
}
