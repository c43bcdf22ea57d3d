/**
 * The only places PostgreSQL SQL text is assembled from names: every
 * identifier goes through quoteIdent, every literal through quoteLiteral.
 */

/** `"name"`, with embedded quotes doubled: safe for any name PostgreSQL can hold. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new TypeError('a PostgreSQL identifier cannot contain NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `'text'`, with embedded quotes doubled. Relies on standard_conforming_strings
 * (on by default since PostgreSQL 9.1; connect() checks it), so backslashes are plain characters.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\u0000')) throw new TypeError('a PostgreSQL literal cannot contain NUL');
  return `'${text.replaceAll("'", "''")}'`;
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Privilege words as catalogs report them -> SQL keywords. Anything else is refused, never pasted. */
const PRIVILEGE_KEYWORDS: Readonly<Record<string, string>> = {
  select: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  delete: 'DELETE',
  truncate: 'TRUNCATE',
  references: 'REFERENCES',
  trigger: 'TRIGGER',
  maintain: 'MAINTAIN',
  usage: 'USAGE',
  connect: 'CONNECT',
  temporary: 'TEMPORARY',
  create: 'CREATE',
};

export function privilegeKeyword(privilege: string): string {
  const keyword = PRIVILEGE_KEYWORDS[privilege];
  if (!keyword) throw new TypeError(`unknown PostgreSQL privilege "${privilege}"`);
  return keyword;
}
