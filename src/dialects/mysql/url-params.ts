/**
 * Query parameters of mysql:// and mariadb:// URLs: the admin URL's `ssl`
 * option, and which parameters a component's login URL may carry.
 *
 * `ssl` holds a JSON object of TLS options (mysql2's SslOptions). Its client
 * identity parts (key, cert, pfx, passphrase) belong to the admin: a login
 * URL keeps only the parts that say how to check the server.
 */
import type mysql from 'mysql2/promise';
import { InvalidInputError } from '../../errors.js';
import { type DatabaseAddress, decodeOr, splitHostPort, type UrlParts } from '../../util/url-parts.js';

/**
 * Parameters a login URL keeps (as client libraries spell them); every other
 * parameter of the admin URL is left out. `ssl` is rewritten by loginSslParam.
 */
export const MYSQL_LOGIN_URL_PARAMS: ReadonlySet<string> = new Set([
  'ssl',
  'ssl-mode',
  'ssl_mode',
  'ssl-ca',
  'ssl_ca',
  'ssl-capath',
  'ssl_capath',
  'ssl-verify-server-cert',
  'ssl_verify_cert',
  'ssl_verify_identity',
  'ssl_check_hostname',
  'charset',
  'connectTimeout',
  'connect_timeout',
]);

/** TLS options that check the server (which CA, which versions and ciphers): no secret among them. */
const SERVER_CHECK_SSL_OPTIONS: ReadonlySet<string> = new Set([
  'ca',
  'crl',
  'rejectUnauthorized',
  'verifyIdentity',
  'minVersion',
  'maxVersion',
  'ciphers',
]);

/** A malformed `ssl` value, named without the value itself (it may hold a passphrase). */
export const SSL_PARAM_PROBLEM = {
  message: 'the ssl parameter is not valid: expected true, false or a JSON object of TLS options',
  hint: 'write ssl=true, or ssl= followed by a percent-encoded JSON object such as {"ca":"...","rejectUnauthorized":true}',
} as const;

/** `ssl` is not true, false or a JSON object. The value is never part of the message. */
export class SslParamError extends InvalidInputError {
  constructor(where: string) {
    super(`${where}: ${SSL_PARAM_PROBLEM.message}`, { hint: SSL_PARAM_PROBLEM.hint });
  }
}

/**
 * The admin URL's `ssl` value (already percent-decoded) as mysql2 options.
 * `where` names the target for the message.
 */
export function parseSslParam(value: string, where: string): mysql.SslOptions | boolean {
  if (value === 'true') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    // JSON.parse's message quotes the text: never pass it on.
    throw new SslParamError(where);
  }
  if (typeof parsed === 'boolean') return parsed;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SslParamError(where);
  return parsed as mysql.SslOptions;
}

/**
 * The `ssl` value for a login URL: the server-checking options of the admin's
 * value, nothing of its client identity. TLS stays on when the admin's was on.
 */
export function loginSslParam(value: string, where: string): string {
  if (value === 'true' || value === 'false') return value;
  const options = parseSslParam(value, where);
  if (typeof options === 'boolean') return String(options);
  const kept = Object.entries(options).filter(([key]) => SERVER_CHECK_SSL_OPTIONS.has(key));
  return JSON.stringify(Object.fromEntries(kept));
}

const DEFAULT_PORT = '3306';

/**
 * Which database of which server a URL names, as connectionOptions reads it,
 * without its credentials. Two URLs with equal addresses reach the same
 * database; different ones may still (an alias such as localhost).
 */
export function mysqlAddress(parts: UrlParts): DatabaseAddress {
  const { host, port } = splitHostPort(parts.hostPort);
  return {
    servers: [`${decodeOr(host).toLowerCase() || '127.0.0.1'}:${port || DEFAULT_PORT}`],
    database: decodeOr(parts.path.replace(/^\//, '')),
  };
}

/** What is wrong with the URL's options, or undefined. */
export function mysqlUrlProblem(parts: UrlParts): { message: string; hint: string } | undefined {
  // Every ssl value: connectionOptions reads the first, a component's library may read another.
  for (const ssl of new URLSearchParams(parts.query ?? '').getAll('ssl')) {
    try {
      parseSslParam(ssl, '');
    } catch (err) {
      if (err instanceof SslParamError) return SSL_PARAM_PROBLEM;
      throw err;
    }
  }
  return undefined;
}
