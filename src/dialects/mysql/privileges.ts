/**
 * What a login can actually do, asked as that login: SHOW GRANTS expanded
 * through its active (default) roles and PUBLIC, parsed into privileges on
 * the target's tables. Database-level and global grants that reach these
 * schemas are reported on the schema, so verify lists them as extra.
 */
import type { EffectivePrivilege } from '../dialect.js';

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'word'; text: string }
  | { kind: 'punct'; text: string };

/** SHOW GRANTS output -> tokens: backquoted names, quoted strings, words and punctuation. */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '`' || ch === "'") {
      const [text, end] = readQuoted(line, i, ch);
      tokens.push({ kind: ch === '`' ? 'ident' : 'string', text });
      i = end;
    } else if (/[A-Za-z_]/.test(ch)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i))?.[0] ?? ch;
      tokens.push({ kind: 'word', text: word.toUpperCase() });
      i += word.length;
    } else {
      tokens.push({ kind: 'punct', text: ch });
      i++;
    }
  }
  return tokens;
}

/** A quoted name or string starting at `start`; a doubled quote (or a backslash in strings) escapes. */
function readQuoted(line: string, start: number, quote: string): [string, number] {
  let text = '';
  let i = start + 1;
  while (i < line.length) {
    const ch = line[i] ?? '';
    if (quote === "'" && ch === '\\') {
      text += line[i + 1] ?? '';
      i += 2;
    } else if (ch === quote && line[i + 1] === quote) {
      text += quote;
      i += 2;
    } else if (ch === quote) {
      return [text, i + 1];
    } else {
      text += ch;
      i++;
    }
  }
  throw new TypeError('unterminated quoted name in SHOW GRANTS output');
}

interface ParsedGrant {
  /** `*.*`: schema and table undefined; `db.*`: table undefined. */
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly privileges: readonly { readonly name: string; readonly columns: readonly string[] | 'all' }[];
}

/**
 * One `GRANT privileges ON object TO grantee [WITH GRANT OPTION]` line;
 * undefined for lines that grant no table privileges (role grants, PROXY,
 * routines, SET DEFAULT ROLE).
 */
export function parseGrantLine(line: string): ParsedGrant | undefined {
  const tokens = tokenize(line);
  let i = 0;
  const at = (k: number) => tokens[k];
  if (at(i)?.text !== 'GRANT' || at(i)?.kind !== 'word') return undefined;
  i++;
  if (at(i)?.kind !== 'word') return undefined; // GRANT `role` TO ...
  const privileges: { name: string; columns: string[] | 'all' }[] = [];
  while (i < tokens.length && !(at(i)?.kind === 'word' && at(i)?.text === 'ON')) {
    const words: string[] = [];
    for (let token = at(i); token?.kind === 'word' && token.text !== 'ON'; token = at(++i))
      words.push(token.text);
    if (words.length === 0) return undefined;
    let columns: string[] | 'all' = 'all';
    if (at(i)?.text === '(') {
      columns = [];
      i++;
      while (at(i) && at(i)?.text !== ')') {
        const token = at(i);
        if (token?.kind === 'ident') columns.push(token.text);
        i++;
      }
      i++;
    }
    privileges.push({ name: words.join(' ').toLowerCase(), columns });
    if (at(i)?.text === ',') i++;
  }
  i++; // ON
  if (at(i)?.kind === 'word') return undefined; // ON PROCEDURE / FUNCTION / PACKAGE
  const object = readObject(tokens, i);
  if (!object) return undefined;
  const withGrant = tokens
    .slice(object.next)
    .some((t, k, rest) => t.text === 'GRANT' && rest[k + 1]?.text === 'OPTION');
  if (withGrant) privileges.push({ name: 'grant option', columns: 'all' });
  return { schema: object.schema, table: object.table, privileges };
}

function readObject(
  tokens: readonly Token[],
  start: number,
): { schema: string | undefined; table: string | undefined; next: number } | undefined {
  const [a, dot, b] = [tokens[start], tokens[start + 1], tokens[start + 2]];
  if (!a || dot?.text !== '.' || !b) return undefined;
  const name = (t: Token) => (t.kind === 'ident' ? t.text : t.text === '*' ? undefined : t.text);
  return { schema: name(a), table: name(b), next: start + 3 };
}

/** A database-level grant's name is a LIKE pattern (`_` and `%` are wildcards unless escaped). */
export function schemaPatternMatches(pattern: string, schema: string): boolean {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\' && i + 1 < pattern.length) {
      regex += escapeRegex(pattern[++i] ?? '');
    } else if (ch === '%') regex += '[\\s\\S]*';
    else if (ch === '_') regex += '[\\s\\S]';
    else regex += escapeRegex(ch);
  }
  return new RegExp(`^${regex}$`, 'u').test(schema);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** SHOW GRANTS lines -> what the login holds in these schemas. USAGE ("no privileges") is dropped. */
export function effectivePrivilegesFromGrants(
  lines: readonly string[],
  schemas: readonly string[],
): EffectivePrivilege[] {
  const result: EffectivePrivilege[] = [];
  for (const line of lines) {
    const grant = parseGrantLine(line);
    if (!grant) continue;
    const privileges = grant.privileges.filter((p) => p.name !== 'usage');
    const onTable = grant.schema !== undefined && grant.table !== undefined;
    for (const schema of schemas) {
      // A table grant names its database exactly; a database-level grant names a pattern.
      if (
        onTable
          ? grant.schema !== schema
          : grant.schema !== undefined && !schemaPatternMatches(grant.schema, schema)
      )
        continue;
      for (const p of privileges) {
        result.push(
          onTable
            ? { kind: 'table', schema, name: grant.table ?? '', privilege: p.name, columns: p.columns }
            : {
                kind: 'schema',
                schema,
                name: schema,
                privilege: grant.schema === undefined ? `global ${p.name}` : p.name,
                columns: 'all',
              },
        );
      }
    }
  }
  return result;
}
