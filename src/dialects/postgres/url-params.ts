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
 * credentials: hosts (a socket directory counts as a host) with their ports,
 * and the database (else the user name, libpq's default). As in libpq, the
 * `host`, `port` and `dbname` parameters win over the URL's own parts. Two
 * URLs with equal addresses reach the same database; different ones may
 * still (an alias).
 */
export function postgresAddress(parts: UrlParts): DatabaseAddress {
  const params = queryParams(parts.query);
  const written = (parts.hostPort === '' ? [] : parts.hostPort.split(',')).map(splitHostPort);
  const hosts = params.get('host')?.split(',') ?? written.map((w) => decodeOr(w.host));
  const ports = params.get('port')?.split(',') ?? written.map((w) => w.port);
  const servers = (hosts.length > 0 ? hosts : ['']).map((host, i) => {
    const port = (ports.length === 1 ? ports[0] : ports[i]) || DEFAULT_PORT;
    return `${host.toLowerCase()}:${port}`;
  });
  const user = params.get('user') || decodeOr(parts.userinfo?.split(':')[0] ?? '');
  const database = params.get('dbname') || decodeOr(parts.path.replace(/^\//, '')) || user;
  return { servers: [...new Set(servers)].sort(), database };
}
