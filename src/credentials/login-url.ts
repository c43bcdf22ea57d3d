/**
 * Connection URLs for component logins, made from the admin URL of a target,
 * and redaction of URLs for messages.
 *
 * URLs are split by hand (util/url-parts.ts), not with WHATWG `URL`.
 */
import { engineForScheme } from '../dialects/engines.js';
import { InvalidInputError } from '../errors.js';
import { loginSslParam, MYSQL_LOGIN_URL_PARAMS } from '../dialects/mysql/url-params.js';
import { POSTGRES_LOGIN_URL_PARAMS } from '../dialects/postgres/url-params.js';
import type { EngineName } from '../policy/model.js';
import { isAmbiguous, paramName, paramValue, splitUrl, type UrlParts } from '../util/url-parts.js';

/**
 * Which admin URL query parameters a login URL keeps, per engine: an
 * allow-list (dialects/<engine>/url-params.ts), so a parameter dbwarden does
 * not know never carries the admin's secrets to a component. A parameter in
 * `rewrite` is kept in the form its function returns (given and returning
 * the decoded value).
 */
interface LoginQueryRules {
  readonly keep: ReadonlySet<string>;
  readonly rewrite: ReadonlyMap<string, (value: string) => string>;
}

const LOGIN_QUERY_RULES: Readonly<Record<EngineName, LoginQueryRules>> = {
  postgres: { keep: POSTGRES_LOGIN_URL_PARAMS, rewrite: new Map() },
  mysql: {
    keep: MYSQL_LOGIN_URL_PARAMS,
    rewrite: new Map([['ssl', (value: string) => loginSslParam(value, 'admin URL')]]),
  },
};

/** Query parameters whose values redactUrl hides. */
const SECRET_PARAMS: ReadonlySet<string> = new Set(['password', 'sslpassword']);

/** MySQL's ssl JSON may hold a key passphrase: redactUrl shows only a plain on/off. */
function isSecretParam(param: string): boolean {
  const name = paramName(param);
  if (SECRET_PARAMS.has(name)) return true;
  return name === 'ssl' && !['true', 'false', '0', '1'].includes(paramValue(param) ?? '');
}

const REDACTED = '***';

/** The admin URL's query reduced to what the engine's login URLs keep; nothing for an unknown scheme. */
function loginQuery(scheme: string, query: string | undefined): string | undefined {
  const engine = engineForScheme(scheme.slice(0, -1).toLowerCase());
  if (query === undefined || engine === undefined) return undefined;
  const rules = LOGIN_QUERY_RULES[engine];
  const kept = query.split('&').flatMap((param) => {
    const name = paramName(param);
    if (!rules.keep.has(name)) return [];
    const rewrite = rules.rewrite.get(name);
    if (!rewrite) return [param];
    const value = paramValue(param);
    // Named, never shown: the value may hold a secret.
    if (value === undefined)
      throw new InvalidInputError(`admin URL: the ${name} parameter is not percent-encoded correctly`, {
        hint: 'percent-encode "%" as %25 in the parameter value',
      });
    return [`${encodeURIComponent(name)}=${encodeURIComponent(rewrite(value))}`];
  });
  return kept.join('&');
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
 * name and password (both percent-encoded). Scheme, host(s), port and
 * database path are kept as written; of the query, only the parameters the
 * engine's allow-list names (where to connect, how to check the server), and
 * of MySQL's `ssl` JSON only the server-checking options: nothing of the
 * admin's credentials or client identity survives. Messages never include
 * the URL or a parameter's value.
 */
export function loginUrl(adminUrl: string, username: string, password: string): string {
  // Programming errors: dbwarden makes the login names and passwords itself.
  if (username === '') throw new TypeError('login user name must not be empty');
  if (password === '') throw new TypeError('login password must not be empty');
  const parts = splitUrl(adminUrl);
  if (!parts) {
    throw new InvalidInputError('admin URL must have the form scheme://[userinfo@]host[:port][/database]', {
      hint: 'write the URL as scheme://user:password@host:port/database',
    });
  }
  if (isAmbiguous(parts)) {
    throw new InvalidInputError(
      'admin URL has an "@" after its host: percent-encode "@", "/", "?" and "#" in its user name and password',
      { hint: 'e.g. write p@ss as p%40ss' },
    );
  }
  const query = loginQuery(parts.scheme, parts.query);
  return join(parts, `${encodeURIComponent(username)}:${encodeURIComponent(password)}`, query);
}

/**
 * Why no login URL can be made from this admin URL (exit 2, never quoting
 * it), or undefined: checked before anything connects or is written.
 */
export function loginUrlProblem(adminUrl: string): InvalidInputError | undefined {
  try {
    loginUrl(adminUrl, 'login', 'password');
    return undefined;
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
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
    .map((param) => (isSecretParam(param) ? `${param.split('=', 1)[0] ?? ''}=${REDACTED}` : param))
    .join('&');
  return join(parts, userinfo, query);
}
