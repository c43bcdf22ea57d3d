import { DatabaseError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import { flavorNamed, parseServerVersion } from './flavor.js';
import { effectivePrivilegesFromGrants } from './privileges.js';
import { renderChange } from './render.js';
import { databaseError } from './errors.js';
import { AUTHENTICATION_FAILURES, connectMysql, openConnection } from './session.js';

export const mysqlDialect: Dialect = {
  engine: 'mysql',
  transactionalDdl: false,
  connectAdmin: connectMysql,
  render: renderChange,
  async effectivePrivileges(loginUrl, target, schemas) {
    const connection = await openConnection(loginUrl, target);
    try {
      const [versionRows] = await connection.query('select version() as version, current_role() as roles');
      const row = (versionRows as Record<string, unknown>[])[0] ?? {};
      const { flavor } = parseServerVersion(String(row.version));
      // MariaDB's SHOW GRANTS includes the active roles' grants; MySQL needs them named in USING.
      const [grants] = await connection.query(
        flavor === 'mysql' ? showGrantsUsingActiveRoles(row.roles) : 'SHOW GRANTS',
      );
      const lines = (grants as Record<string, unknown>[]).map((g) => String(Object.values(g)[0]));
      return effectivePrivilegesFromGrants(lines, schemas);
    } catch (err) {
      throw databaseError(err, { target, action: "read the login's privileges" });
    } finally {
      await connection.end().catch(() => undefined);
    }
  },
  async canLogIn(loginUrl, target) {
    try {
      const connection = await openConnection(loginUrl, target);
      await connection.end().catch(() => undefined);
      return true;
    } catch (err) {
      if (!(err instanceof DatabaseError) || err.code === undefined) throw err;
      // The password was accepted, but the login may not use this database (yet).
      if (err.code === 'ER_DBACCESS_DENIED_ERROR') return true;
      if (AUTHENTICATION_FAILURES.has(err.code)) return false;
      throw err;
    }
  },
  // The server only ever sees a hash: the password is in no statement or log.
  passwordStoredForm: (password, server) => flavorNamed(server.flavor).storedPassword(password),
};

/**
 * `SHOW GRANTS FOR CURRENT_USER() USING <roles>` for the roles CURRENT_ROLE()
 * lists (`` `r`@`%`,`s`@`%` ``, or NONE); the names are the server's own output.
 */
function showGrantsUsingActiveRoles(roles: unknown): string {
  const list = String(roles ?? 'NONE');
  return list === 'NONE' || list === '' ? 'SHOW GRANTS' : `SHOW GRANTS FOR CURRENT_USER() USING ${list}`;
}
