/**
 * MySQL/MariaDB grant tables -> planner snapshot, in a fixed number of
 * queries per target whatever the number of tables: the privilege columns
 * of mysql.user and mysql.db, accounts, role grants (and default roles on
 * MySQL), dynamic privileges (MySQL), dbwarden's marks, the named tables'
 * columns, and database-, table- and column-level grants of candidate accounts.
 *
 * Accounts are `'name'@'host'` here, names in the planner: a candidate is a
 * name with the app's prefix at the configured login host, or a role (no
 * host on MariaDB, `%` on MySQL). Same-named accounts at other hosts are not
 * dbwarden's and are left out.
 */
import type {
  AccountAttribute,
  ColumnGrant,
  ColumnPrivilege,
  GrantCapabilities,
  Membership,
  ObjectGrant,
  RoleState,
  TableInfo,
} from '../../plan/types.js';
import type { AccountOptions, IntrospectRequest, TargetSnapshot } from '../dialect.js';
import type { MysqlFlavor } from './flavor.js';
import { MARKS_TABLE } from './render.js';
import { sortedAttributes } from '../../plan/attributes.js';
import { isGrantRoleName } from '../../policy/names.js';
import { compareText } from '../../util/compare.js';
import { likePrefix } from './sql.js';

export const MYSQL_CAPABILITIES: GrantCapabilities = {
  databaseConnect: false,
  schemaUsage: false,
  ownedSequenceUsage: false,
  // A table-level REVOKE leaves column-level grants of the same privilege in place.
  tableRevokeClearsColumns: false,
  publicHardening: false,
};

type Row = Record<string, unknown>;

/** A connection that runs one parameterized query and returns its rows. */
export type QueryRows = (sql: string, values?: unknown[]) => Promise<Row[]>;

/** ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR: dbwarden has marked nothing on this server yet. */
const NO_MARKS_YET = new Set(['ER_NO_SUCH_TABLE', 'ER_BAD_DB_ERROR']);

export async function introspectTarget(
  query: QueryRows,
  flavor: MysqlFlavor,
  cluster: string,
  database: string,
  request: IntrospectRequest,
): Promise<TargetSnapshot> {
  const rows = await readCatalog(query, flavor, request);
  const candidates = candidateAccounts(rows.accounts, flavor, request.accounts);
  const isCandidate = (user: unknown, host: unknown) => candidates.get(String(user)) === String(host);
  return {
    cluster: clusterState(rows, { flavor, request, candidates, isCandidate }),
    target: {
      cluster,
      defaultSchema: database,
      capabilities: MYSQL_CAPABILITIES,
      tables: rows.tables,
      ...targetGrants(rows, { database, request, isCandidate }),
    },
  };
}

/** The rows of one target's catalog, as read: not yet narrowed to the candidate accounts. */
interface CatalogRows {
  readonly privColumns: { user: string[]; db: string[] };
  readonly accounts: Row[];
  readonly memberships: Row[];
  /** Default roles (MySQL's mysql.default_roles; MariaDB keeps them in `accounts`). */
  readonly defaults: Row[];
  /** Dynamic global privileges (MySQL only). */
  readonly dynamic: Row[];
  /** Every mark on a name with the prefix: name -> app. */
  readonly marks: Map<string, string>;
  readonly tables: TableInfo[];
  readonly dbGrants: Row[];
  readonly tableGrants: Row[];
  readonly columnGrants: Row[];
}

/** Whether an account `'user'@'host'` of a grant-table row is one of dbwarden's candidates. */
type IsCandidate = (user: unknown, host: unknown) => boolean;

/** The fixed set of queries of one target, in a fixed order whatever the number of tables. */
async function readCatalog(
  query: QueryRows,
  flavor: MysqlFlavor,
  request: IntrospectRequest,
): Promise<CatalogRows> {
  const prefix = likePrefix(request.rolePrefix);
  const privColumns = await privilegeColumns(query);
  const accounts = await query(
    `select u.User as name, u.Host as host, ${flavor.accountColumns}, u.ssl_type as ssl_type,
            u.max_user_connections as max_user_connections${selectList('u', privColumns.user)}
     from mysql.user u ${flavor.accountJoin}
     where u.User like ?`,
    [prefix],
  );
  const memberships = await query(flavor.membershipsSql, [prefix, prefix]);
  const defaults = flavor.defaultRolesSql ? await query(flavor.defaultRolesSql, [prefix]) : [];
  const dynamic = flavor.dynamicPrivilegesSql ? await query(flavor.dynamicPrivilegesSql, [prefix]) : [];
  const marks = await readMarks(query, prefix);
  const tables = await readTables(query, request);
  const grants = await readObjectGrants(query, prefix, privColumns.db);
  return { privColumns, accounts, memberships, defaults, dynamic, marks, tables, ...grants };
}

/** Database-, table- and column-level grants of the accounts with the prefix, on every database. */
async function readObjectGrants(
  query: QueryRows,
  prefix: string,
  dbPrivColumns: readonly string[],
): Promise<Pick<CatalogRows, 'dbGrants' | 'tableGrants' | 'columnGrants'>> {
  const dbGrants = await query(
    `select Host as host, Db as db, User as user${selectList('d', dbPrivColumns)} from mysql.db d where User like ?`,
    [prefix],
  );
  const tableGrants = await query(
    'select Host as host, Db as db, User as user, Table_name as name, Table_priv as privileges from mysql.tables_priv where User like ?',
    [prefix],
  );
  const columnGrants = await query(
    'select Host as host, Db as db, User as user, Table_name as name, Column_name as col, Column_priv as privileges from mysql.columns_priv where User like ?',
    [prefix],
  );
  return { dbGrants, tableGrants, columnGrants };
}

/** The server-wide part: the candidate accounts, their memberships, and the marks on other names. */
function clusterState(
  rows: CatalogRows,
  scope: {
    flavor: MysqlFlavor;
    request: IntrospectRequest;
    candidates: ReadonlyMap<string, string>;
    isCandidate: IsCandidate;
  },
): TargetSnapshot['cluster'] {
  const { flavor, request, candidates, isCandidate } = scope;
  const dynamic = rows.dynamic.filter((d) => isCandidate(d.user, d.host));
  const marked = new Set([...rows.marks].filter(([, app]) => app === request.app).map(([name]) => name));
  const defaultRoles = defaultRolesOf(rows.accounts, rows.defaults, flavor);
  return {
    staleMarks: [...marked].filter((name) => !candidates.has(name)).sort(compareText),
    otherAppMarks: [...rows.marks]
      .filter(([name, app]) => app !== request.app && !candidates.has(name))
      .map(([role, app]) => ({ role, app }))
      .sort((a, b) => compareText(a.role, b.role)),
    roles: rows.accounts
      .filter((a) => isCandidate(a.name, a.host))
      .map((a) => ({
        ...toRoleState(a, rows.privColumns.user, dynamic, marked, request.accounts),
        ...otherApp(rows.marks.get(String(a.name)), request.app),
      })),
    memberships: rows.memberships
      .filter((m) => isCandidate(m.member, m.member_host))
      .map((m) => toMembership(String(m.role), String(m.member), defaultRoles)),
  };
}

/**
 * The grant tables cover every database of the server: each target reports only its own
 * database and the schemas its policies name, so targets sharing a server never revoke
 * each other's grants.
 */
function targetGrants(
  rows: CatalogRows,
  scope: { database: string; request: IntrospectRequest; isCandidate: IsCandidate },
): Pick<TargetSnapshot['target'], 'grants' | 'columnGrants'> {
  const { database, request, isCandidate } = scope;
  const schemas = new Set([database, ...request.tables.map((t) => t.schema)]);
  const inTargetTable = (g: Row) => isCandidate(g.user, g.host) && schemas.has(String(g.db));
  const inTargetDatabase = (g: Row) => isCandidate(g.user, g.host) && schemas.has(unescapeLike(String(g.db)));
  return {
    grants: [
      ...rows.dbGrants.filter(inTargetDatabase).flatMap((g) =>
        heldPrivileges(g, rows.privColumns.db).map((privilege): ObjectGrant => ({
          grantee: String(g.user),
          object: { kind: 'schema', schema: String(g.db) },
          privilege,
        })),
      ),
      ...rows.tableGrants.filter(inTargetTable).flatMap((g) =>
        setMembers(g.privileges).map((privilege): ObjectGrant => ({
          grantee: String(g.user),
          object: { kind: 'table', schema: String(g.db), table: String(g.name) },
          privilege,
        })),
      ),
    ],
    columnGrants: rows.columnGrants.filter(inTargetTable).flatMap((g) =>
      setMembers(g.privileges).map((privilege): ColumnGrant => ({
        grantee: String(g.user),
        schema: String(g.db),
        table: String(g.name),
        column: String(g.col),
        privilege: privilege as ColumnPrivilege,
      })),
    ),
  };
}

/** The `*_priv` columns of mysql.user and mysql.db on this server (they differ by product and version). */
async function privilegeColumns(query: QueryRows): Promise<{ user: string[]; db: string[] }> {
  const rows = await query(
    `select table_name as tbl, column_name as col from information_schema.columns
     where table_schema = 'mysql' and table_name in ('user', 'db') and column_name like '%\\_priv'
     order by ordinal_position`,
  );
  const of = (table: string) => rows.filter((r) => String(r.tbl) === table).map((r) => String(r.col));
  return { user: of('user'), db: of('db') };
}

/** Column names come from information_schema, and only ever match /^\w+_priv$/. */
function selectList(alias: string, columns: readonly string[]): string {
  return columns
    .filter((c) => /^\w+_priv$/.test(c))
    .map((c) => `, ${alias}.\`${c}\` as \`${c}\``)
    .join('');
}

/** Candidate name -> its host: logins at the configured host, roles at the role host. */
function candidateAccounts(
  rows: readonly Row[],
  flavor: MysqlFlavor,
  accounts: AccountOptions,
): Map<string, string> {
  const candidates = new Map<string, string>();
  for (const row of rows) {
    const name = String(row.name);
    const host = String(row.host);
    const wantedHost = isGrantRoleName(name) || truthy(row.is_role) ? flavor.roleHost : accounts.host;
    if (host === wantedHost) candidates.set(name, host);
  }
  return candidates;
}

/**
 * Every mark on a candidate name, name -> app: this app's and other apps'.
 * App `cx` reads the `cx_` names of app `cx_x` too, and must know they are
 * that app's (never to be adopted, locked or revoked from).
 */
async function readMarks(query: QueryRows, prefix: string): Promise<Map<string, string>> {
  try {
    const rows = await query(`select name, app from ${MARKS_TABLE} where name like ?`, [prefix]);
    return new Map(rows.map((r) => [String(r.name), String(r.app)]));
  } catch (err) {
    if (NO_MARKS_YET.has(String((err as { code?: unknown }).code))) return new Map();
    throw err;
  }
}

function otherApp(markedBy: string | undefined, app: string): { otherApp?: string } {
  return markedBy === undefined || markedBy === app ? {} : { otherApp: markedBy };
}

async function readTables(query: QueryRows, request: IntrospectRequest): Promise<TableInfo[]> {
  const schemas = [...new Set(request.tables.map((t) => t.schema))];
  if (schemas.length === 0) return [];
  const wanted = new Set(request.tables.map((t) => `${t.schema}\u0000${t.table}`));
  const rows = await query(
    `select table_schema as s, table_name as t, column_name as c from information_schema.columns
     where table_schema in (?) order by table_schema, table_name, ordinal_position`,
    [schemas],
  );
  const tables = new Map<string, TableInfo & { columns: string[] }>();
  for (const row of rows) {
    const key = `${String(row.s)}\u0000${String(row.t)}`;
    if (!wanted.has(key)) continue;
    let table = tables.get(key);
    if (!table) {
      table = { schema: String(row.s), table: String(row.t), columns: [], ownedSequences: [] };
      tables.set(key, table);
    }
    table.columns.push(String(row.c));
  }
  return [...tables.values()];
}

/** login -> its default roles. */
function defaultRolesOf(
  accounts: readonly Row[],
  defaults: readonly Row[],
  flavor: MysqlFlavor,
): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  const add = (login: string, role: string) => map.set(login, (map.get(login) ?? new Set()).add(role));
  if (flavor.defaultRolesSql) {
    for (const d of defaults) add(String(d.login), String(d.role));
  } else {
    for (const a of accounts) if (a.default_role) add(String(a.name), String(a.default_role));
  }
  return map;
}

/** A role that is granted but not a default role is not active at login: as good as not inherited. */
function toMembership(
  role: string,
  member: string,
  defaultRoles: ReadonlyMap<string, Set<string>>,
): Membership {
  if (isGrantRoleName(member) || defaultRoles.get(member)?.has(role)) return { role, member };
  return { role, member, inherits: false };
}

function toRoleState(
  row: Row,
  userPrivColumns: readonly string[],
  dynamic: readonly Row[],
  marked: ReadonlySet<string>,
  accounts: AccountOptions,
): RoleState {
  const name = String(row.name);
  const canLogin = truthy(row.can_login);
  const global = (privilege: string): AccountAttribute => ({ attribute: 'global-privilege', privilege });
  const attributes = [
    ...heldPrivileges(row, userPrivColumns).map(global),
    ...dynamic.filter((d) => String(d.user) === name).map((d) => global(String(d.priv).toLowerCase())),
    ...(canLogin ? loginSettingDifferences(row, accounts) : []),
  ];
  // A privilege both in a column and among the dynamic ones counts once.
  const unique = sortedAttributes(attributes);
  return { name, canLogin, managedMarker: marked.has(name), attributes: unique };
}

/** REQUIRE and MAX_USER_CONNECTIONS that differ from the config. */
function loginSettingDifferences(row: Row, accounts: AccountOptions): AccountAttribute[] {
  const differences: AccountAttribute[] = [];
  const requiresTls = String(row.ssl_type ?? '') !== '';
  if (accounts.requireTls && !requiresTls) differences.push({ attribute: 'tls-not-required' });
  if (!accounts.requireTls && requiresTls) differences.push({ attribute: 'tls-required' });
  const max = Number(row.max_user_connections ?? 0);
  if (max !== accounts.maxUserConnections)
    differences.push({ attribute: 'max-user-connections', count: max });
  return differences;
}

/** `Select_priv: 'Y'` columns -> `select`; `Grant_priv` -> `grant option`; `Create_tmp_table_priv` -> `create temporary tables`. */
function heldPrivileges(row: Row, columns: readonly string[]): string[] {
  return columns.filter((c) => String(row[c]) === 'Y').map(privilegeOfColumn);
}

const COLUMN_PRIVILEGE_NAMES: Readonly<Record<string, string>> = {
  grant: 'grant option',
  create_tmp_table: 'create temporary tables',
  show_db: 'show databases',
  repl_slave: 'replication slave',
  repl_client: 'replication client',
  create_user: 'create user',
};

function privilegeOfColumn(column: string): string {
  const base = column.replace(/_priv$/, '').toLowerCase();
  return COLUMN_PRIVILEGE_NAMES[base] ?? base.replaceAll('_', ' ');
}

/** A SET column (`Select,Insert,Grant`) -> `['select', 'insert', 'grant option']`. */
function setMembers(value: unknown): string[] {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value ?? '');
  return text
    .split(',')
    .filter((p) => p !== '')
    .map((p) => (p.toLowerCase() === 'grant' ? 'grant option' : p.toLowerCase()));
}

/**
 * A database-level grant names a LIKE pattern; `nova\_api` and `nova_api` both
 * mean the database nova_api here. Patterns with real wildcards (`nova%`) are
 * matched by no target: verify reports what they give as extra.
 */
function unescapeLike(pattern: string): string {
  return pattern.replace(/\\([_%\\])/g, '$1');
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 1n;
}
