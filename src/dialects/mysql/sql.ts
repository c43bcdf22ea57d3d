/**
 * The only places MySQL/MariaDB SQL text is assembled from names: every
 * identifier goes through quoteIdent, every literal through quoteLiteral,
 * every account through account().
 *
 * Sessions run with a fixed sql_mode (session.ts) that has neither
 * ANSI_QUOTES nor NO_BACKSLASH_ESCAPES, so the quoting below is exact.
 */

/** `` `name` ``, with embedded backticks doubled: safe for any name MySQL can hold. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new TypeError('a MySQL identifier cannot contain NUL');
  return `\`${name.replaceAll('`', '``')}\``;
}

/** `'text'`: backslashes and quotes escaped (backslash is an escape character in MySQL strings). */
export function quoteLiteral(text: string): string {
  if (text.includes('\u0000')) throw new TypeError('a MySQL literal cannot contain NUL');
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** `'user'@'host'`. */
export function account(user: string, host: string): string {
  return `${quoteLiteral(user)}@${quoteLiteral(host)}`;
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Every table of a database, for privileges held at the database level. */
export function allTablesOf(schema: string): string {
  return `${quoteIdent(schema)}.*`;
}

/** A LIKE pattern matching names that start with `prefix` (with `\` as the escape character). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Privilege words as the grant tables report them (lowercased) -> SQL keywords.
 * Anything else is refused, never pasted.
 */
const PRIVILEGE_KEYWORDS: Readonly<Record<string, string>> = {
  select: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  delete: 'DELETE',
  create: 'CREATE',
  drop: 'DROP',
  'grant option': 'GRANT OPTION',
  references: 'REFERENCES',
  index: 'INDEX',
  alter: 'ALTER',
  'create view': 'CREATE VIEW',
  'show view': 'SHOW VIEW',
  trigger: 'TRIGGER',
  'delete history': 'DELETE HISTORY',
  'create temporary tables': 'CREATE TEMPORARY TABLES',
  'lock tables': 'LOCK TABLES',
  execute: 'EXECUTE',
  'create routine': 'CREATE ROUTINE',
  'alter routine': 'ALTER ROUTINE',
  event: 'EVENT',
  'show create routine': 'SHOW CREATE ROUTINE',
};

export function privilegeKeyword(privilege: string): string {
  const keyword = PRIVILEGE_KEYWORDS[privilege];
  if (!keyword) throw new TypeError(`unknown MySQL privilege "${privilege}"`);
  return keyword;
}
