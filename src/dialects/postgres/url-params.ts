/**
 * Which query parameters of a postgres:// or postgresql:// admin URL a
 * component's login URL keeps (libpq's names, and node-postgres's `ssl`).
 *
 * An allow-list: where to connect and how to check the server. Left out,
 * with everything else: user, password, passfile and service (the admin's
 * credentials or where to find them), sslcert, sslkey, sslpassword and
 * sslcertmode (the admin's client certificate), options (the admin's
 * session settings) and replication.
 */
import {
  type DatabaseAddress,
  decodeOr,
  queryParams,
  splitHostPort,
  type UrlParts,
} from '../../util/url-parts.js';
export const POSTGRES_LOGIN_URL_PARAMS: ReadonlySet<string> = new Set([
  'host',
  'hostaddr',
  'port',
  'dbname',
  'sslmode',
  'ssl',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'requiressl',
  'gssencmode',
  'channel_binding',
  'require_auth',
  'target_session_attrs',
  'load_balance_hosts',
  'connect_timeout',
  'application_name',
  'fallback_application_name',
  'client_encoding',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
]);

const DEFAULT_PORT = '5432';

/**
 * Which database of which server a URL names, as libpq reads it, without its
 * credentials: hosts (the URL's, or the `host` parameter's; a socket
 * directory counts as a host) with their ports, and the database (the path,
 * or `dbname`, or else the user name, libpq's default). Two URLs with equal
 * addresses reach the same database; different ones may still (an alias).
 */
export function postgresAddress(parts: UrlParts): DatabaseAddress {
  const params = queryParams(parts.query);
  const written = parts.hostPort === '' ? [] : parts.hostPort.split(',');
  const hosts = written.length > 0 ? written : (params.get('host') ?? '').split(',');
  const ports = (params.get('port') ?? '').split(',');
  const servers = hosts.map((entry, i) => {
    const { host, port } = splitHostPort(entry);
    return `${decodeOr(host).toLowerCase()}:${port || ports[i] || ports[0] || DEFAULT_PORT}`;
  });
  const user = parts.userinfo?.split(':')[0] ?? '';
  const database = decodeOr(parts.path.replace(/^\//, '')) || params.get('dbname') || decodeOr(user);
  return { servers: [...new Set(servers)].sort(), database };
}
