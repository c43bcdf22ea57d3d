/**
 * Connection URLs split by hand rather than with WHATWG `URL`, which rejects
 * libpq's multi-host form (`postgresql://h1:5432,h2:5433/db`) and, for the
 * non-special schemes postgres: and mysql:, would not escape `%` in a user
 * name. Nothing here puts a URL or a part of it into a message.
 */

export interface UrlParts {
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

export function splitUrl(url: string): UrlParts | undefined {
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
export function isAmbiguous(parts: UrlParts): boolean {
  return `${parts.path}?${parts.query ?? ''}#${parts.fragment ?? ''}`.includes('@');
}

export function paramName(param: string): string {
  const eq = param.indexOf('=');
  const raw = eq < 0 ? param : param.slice(0, eq);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** A parameter's value as URLSearchParams reads it ("+" is a space); undefined when not decodable. */
export function paramValue(param: string): string | undefined {
  const eq = param.indexOf('=');
  try {
    return decodeURIComponent((eq < 0 ? '' : param.slice(eq + 1)).replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** A query's parameters by decoded name (a repeated name: the last wins, as libpq reads them). */
export function queryParams(query: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  for (const param of query?.split('&') ?? []) {
    const name = paramName(param);
    const value = paramValue(param);
    if (name !== '' && value !== undefined) params.set(name, value);
  }
  return params;
}

/** Percent-decoded, or as written when it does not decode. */
export function decodeOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `host[:port]`, `[v6][:port]`: the port is empty when not written. */
export function splitHostPort(entry: string): { host: string; port: string } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(entry);
  return match ? { host: match[1] ?? '', port: match[2] ?? '' } : { host: entry, port: '' };
}

/** Server(s) and database of a connection URL, never its credentials. */
export interface DatabaseAddress {
  /** `host:port` of each server, lowercased, sorted, unique. */
  readonly servers: readonly string[];
  readonly database: string;
}
