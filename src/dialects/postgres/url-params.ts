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
