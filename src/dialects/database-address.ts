/**
 * What dbwarden reads from a target's admin URL before connecting: which
 * database of which server it names, compared without credentials (two
 * targets on one database would wait for each other's run lock, so they are
 * refused), and problems with its options. Nothing here quotes a URL.
 */
import type { DatabaseAddress } from '../util/url-parts.js';
import { isAmbiguous, splitUrl } from '../util/url-parts.js';
import { engineForScheme, urlScheme } from './engines.js';
import { mysqlAddress, mysqlUrlProblem } from './mysql/url-params.js';
import { postgresAddress } from './postgres/url-params.js';

/** What to do about two targets on one database (whatever their kinds). */
export const SAME_DATABASE_HINT =
  'each target must be its own database: keep one of them; if the two kinds are the same database, ' +
  'use one kind for it (move the tables the policies list under the other kind to this one)';

/** The address as one comparable string: engine, servers, database. */
export function addressKey(address: DatabaseAddress & { engine: string }): string {
  return JSON.stringify([address.engine, address.servers, address.database]);
}

export function databaseAddress(url: string): (DatabaseAddress & { engine: string }) | undefined {
  const engine = engineForScheme(urlScheme(url) ?? '');
  const parts = splitUrl(url);
  // An ambiguous URL would put part of its password where the host or database is read.
  if (engine === undefined || parts === undefined || isAmbiguous(parts)) return undefined;
  return { engine, ...(engine === 'postgres' ? postgresAddress(parts) : mysqlAddress(parts)) };
}

/** `database "nova" on db:5432`, for messages: no credentials. */
export function describeAddress(address: DatabaseAddress): string {
  return `database "${address.database}" on ${address.servers.join(',')}`;
}

/** A problem with the URL's options that would stop the connection, named without any value. */
export function adminUrlProblem(url: string): { message: string; hint: string } | undefined {
  const engine = engineForScheme(urlScheme(url) ?? '');
  const parts = splitUrl(url);
  if (engine !== 'mysql' || parts === undefined || isAmbiguous(parts)) return undefined;
  return mysqlUrlProblem(parts);
}
