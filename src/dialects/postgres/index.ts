import { DatabaseError } from '../../errors.js';
import { scramSha256Verifier } from './scram.js';
import type { Dialect } from '../dialect.js';
import { effectivePrivilegesOf } from './privileges.js';
import { renderChange } from './render.js';
import { databaseError } from './errors.js';
import { connectPostgres, openClient } from './session.js';

/** 28P01: wrong password; 28000: no such role, or pg_hba.conf refuses it. */
const AUTHENTICATION_FAILURES = new Set(['28P01', '28000']);
/** 42501 at connect: the password was accepted, but the login may not CONNECT (yet). */
const AUTHENTICATED_WITHOUT_CONNECT = '42501';

export const postgresDialect: Dialect = {
  engine: 'postgres',
  transactionalDdl: true,
  connectAdmin: connectPostgres,
  render: renderChange,
  async effectivePrivileges(loginUrl, target, schemas) {
    const client = await openClient(loginUrl, target);
    try {
      return await effectivePrivilegesOf(client, schemas);
    } catch (err) {
      throw databaseError(err, { target, action: "read the login's privileges" });
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  async canLogIn(loginUrl, target) {
    try {
      const client = await openClient(loginUrl, target);
      await client.end().catch(() => undefined);
      return true;
    } catch (err) {
      if (!(err instanceof DatabaseError) || err.code === undefined) throw err;
      if (err.code === AUTHENTICATED_WITHOUT_CONNECT) return true;
      if (AUTHENTICATION_FAILURES.has(err.code)) return false;
      throw err;
    }
  },
  // The server only ever sees the verifier: the password is in no statement, log or pg_stat_statements.
  passwordStoredForm: (password) => scramSha256Verifier(password),
};
