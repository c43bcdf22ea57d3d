/**
 * Connection URLs for component logins, made from the admin URL of a target,
 * and redaction of URLs for messages.
 *
 * URLs are split by hand rather than with WHATWG `URL`, which rejects libpq's
 * multi-host form (`postgresql://h1:5432,h2:5432/db`) and, for the
 * non-special schemes postgres: and mysql:, would not escape `%` in a user name.
 */

/** Query parameters that carry the admin's identity or secrets; never copied to a login URL. */
const IDENTITY_PARAMS: ReadonlySet<string> = new Set(['user', 'password', 'sslpassword']);
/** Query parameters whose values redactUrl hides. */
const SECRET_PARAMS: ReadonlySet<string> = new Set(['password', 'sslpassword']);

const REDACTED = '***';

interface UrlParts {
  /** With its colon: `postgresql:`. */
  readonly scheme: string;
  /** Everything before the last `@` of the authority, still percent-encoded. */
  readonly userinfo: string | undefined;
  readonly hostPort: string;
  readonly path: string;
  readonly query: string | undefined;
  readonly fragment: string | undefined;
}

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

function splitUrl(url: string): UrlParts | undefined {
  const match = URL_SHAPE.exec(url);
  if (!match) return undefined;
  const [, scheme = '', authority = '', path = '', query, fragment] = match;
  const at = authority.lastIndexOf('@');
  return {
    scheme,
    userinfo: at < 0 ? undefined : authority.slice(0, at),
    hostPort: at < 0 ? authority : authority.slice(at + 1),
    path,
    query,
    fragment,
  };
}

/**
 * An `@` after the host means the userinfo held an unescaped `/`, `?` or `#`,
 * so part of it would be taken for the path: the URL cannot be split safely.
 */
function isAmbiguous(parts: UrlParts): boolean {
  return `${parts.path}?${parts.query ?? ''}#${parts.fragment ?? ''}`.includes('@');
}

function paramName(param: string): string {
  const eq = param.indexOf('=');
  const raw = eq < 0 ? param : param.slice(0, eq);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function join(parts: UrlParts, userinfo: string | undefined, query: string | undefined): string {
  return (
    `${parts.scheme}//${userinfo === undefined ? '' : `${userinfo}@`}${parts.hostPort}${parts.path}` +
    `${query === undefined || query === '' ? '' : `?${query}`}` +
    `${parts.fragment === undefined ? '' : `#${parts.fragment}`}`
  );
}

/**
 * The admin connection URL with its userinfo replaced by the login's user
 * name and password (both percent-encoded). Scheme, host(s), port, database
 * path and query (sslmode, ...) are kept as written; `user`, `password` and
 * `sslpassword` query parameters are dropped, so nothing of the admin's
 * credentials survives. Messages never include the URL.
 */
export function loginUrl(adminUrl: string, username: string, password: string): string {
  if (username === '') throw new TypeError('login user name must not be empty');
  if (password === '') throw new TypeError('login password must not be empty');
  const parts = splitUrl(adminUrl);
  if (!parts) throw new TypeError('admin URL must have the form scheme://[userinfo@]host[:port][/database]');
  if (isAmbiguous(parts)) {
    throw new TypeError(
      'admin URL has an "@" after its host: percent-encode "@", "/", "?" and "#" in its user name and password',
    );
  }
  const query = parts.query
    ?.split('&')
    .filter((param) => !IDENTITY_PARAMS.has(paramName(param)))
    .join('&');
  return join(parts, `${encodeURIComponent(username)}:${encodeURIComponent(password)}`, query);
}

/**
 * The URL with any password, in the userinfo or in a `password` or
 * `sslpassword` query parameter, replaced by `***`, for messages. A string
 * that is not a URL comes back as `***`; when it is unclear where the
 * userinfo ends, all of it is hidden.
 */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return REDACTED;
  if (isAmbiguous(parts)) {
    const afterHost = url.slice(url.lastIndexOf('@') + 1);
    const rest = redactUrl(`${parts.scheme}//${afterHost}`);
    return `${parts.scheme}//${REDACTED}@${rest.slice(parts.scheme.length + 2)}`;
  }
  let userinfo = parts.userinfo;
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo !== undefined && colon >= 0) userinfo = `${userinfo.slice(0, colon)}:${REDACTED}`;
  const query = parts.query
    ?.split('&')
    .map((param) =>
      SECRET_PARAMS.has(paramName(param)) ? `${param.split('=', 1)[0] ?? ''}=${REDACTED}` : param,
    )
    .join('&');
  return join(parts, userinfo, query);
}
