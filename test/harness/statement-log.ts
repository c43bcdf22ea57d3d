/**
 * Reads the statements a test server received from its own log: PostgreSQL's server log with
 * log_statement=all, or the general log of MariaDB/MySQL. Tests put a marker statement
 * (`SELECT '<marker>'`) in the log and read what came after it.
 */
import fs from 'node:fs';
import { expect } from 'vitest';

export type LogFormat = 'postgres' | 'mysql-general';

export interface StatementLog {
  readonly file: string;
  /** Every statement in the log, in order, each with its continuation lines. */
  statements(): string[];
  /**
   * The statements logged after the last one containing `marker` (waits up to 10 s for the marker to
   * appear: servers may write their log a moment after answering).
   */
  statementsAfter(marker: string): Promise<string[]>;
  /** The whole log as text. */
  text(): string;
}

export function statementLog(file: string, format: LogFormat): StatementLog {
  const parse = format === 'postgres' ? parsePostgres : parseMysqlGeneral;
  const log: StatementLog = {
    file,
    text: () => fs.readFileSync(file, 'utf8'),
    statements: () => parse(log.text()),
    async statementsAfter(marker) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const all = log.statements();
        const at = all.findLastIndex((s) => s.includes(marker));
        if (at >= 0) return all.slice(at + 1);
        if (Date.now() > deadline) throw new Error(`marker ${marker} not found in the server log ${file}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  return log;
}

/**
 * The log of a server given by URL (DBWARDEN_TEST_PG_URL, DBWARDEN_TEST_MYSQL_URL), which the tests
 * cannot read: every read fails with `why`, so a test that checks the server log fails there
 * instead of passing without looking.
 */
export function unreadableLog(why: string): StatementLog {
  const fail = (): never => {
    throw new Error(`no server statement log to read: ${why}`);
  };
  return { file: '', statements: fail, statementsAfter: () => Promise.resolve().then(fail), text: fail };
}

/**
 * The negative check of a leak test on a server log ("no password reached the server's log"), made
 * so it cannot pass by seeing nothing: the log must hold statements, among them each of `logged`
 * (what the test made the server run, e.g. the CREATE ROLE whose password must not be there), and
 * then none of `secrets`.
 */
export function expectNotLogged(
  log: StatementLog,
  options: { readonly secrets: readonly string[]; readonly logged: readonly RegExp[] },
): void {
  const statements = log.statements();
  expect(
    statements.length,
    `the server log ${log.file} holds no statement: nothing to check`,
  ).toBeGreaterThan(0);
  expect(options.logged.length, 'a leak check must name a statement it expects in the log').toBeGreaterThan(
    0,
  );
  for (const pattern of options.logged) {
    expect(
      statements.some((st) => pattern.test(st)),
      `the server log ${log.file} has no statement matching ${String(pattern)}: is it the log of this test's server?`,
    ).toBe(true);
  }
  expectNoSecrets(log.text(), { what: `the server log ${log.file}`, secrets: options.secrets });
}

/**
 * The negative check of a leak test on any text (output, messages): fails on an empty text, on no
 * secret to look for, and on each `seen` the text lacks (a line the command does print: proof that
 * this is the output meant), then on any secret in it, without printing the text or the secret.
 */
export function expectNoSecrets(
  text: string,
  options: {
    readonly what: string;
    readonly secrets: readonly string[];
    readonly seen?: readonly (string | RegExp)[];
  },
): void {
  expect(text.trim(), `${options.what} is empty: a leak check on nothing passes vacuously`).not.toBe('');
  expect(options.secrets.length, `${options.what}: no secret to look for`).toBeGreaterThan(0);
  for (const sign of options.seen ?? []) {
    const found = typeof sign === 'string' ? text.includes(sign) : sign.test(text);
    expect(found, `${options.what} lacks ${String(sign)}: not the output the check is meant for`).toBe(true);
  }
  options.secrets.forEach((secret, i) => {
    expect(secret, `${options.what}: secret #${i} is empty`).not.toBe('');
    const at = text.indexOf(secret);
    expect(at, `${options.what} holds secret #${i} (${secret.length} characters) at offset ${at}`).toBe(-1);
  });
}

/** Groups lines into entries: a line for which `starts` is true begins one, other lines continue it. */
function entries(text: string, starts: (line: string) => boolean): string[] {
  const result: string[] = [];
  // A complete log ends with a newline: no empty line after it.
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (starts(line) || result.length === 0) result.push(line);
    else result[result.length - 1] += `\n${line}`;
  }
  return result;
}

/**
 * PostgreSQL with log_line_prefix '%m [%p] ...': `LOG:  statement: <sql>` (simple protocol) and
 * `LOG:  execute <name>: <sql>` (extended protocol) entries; continuation lines start with a tab.
 */
function parsePostgres(text: string): string[] {
  const start = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+ \[\d+\]/;
  const statement = /\bLOG:\s+(?:statement|execute [^:]*): ([\s\S]*)$/;
  const result: string[] = [];
  for (const entry of entries(text, (line) => start.test(line))) {
    const match = statement.exec(entry);
    if (match?.[1] !== undefined) result.push(match[1].replace(/\n\t/g, '\n'));
  }
  return result;
}

/**
 * The general log. MariaDB: `YYMMDD HH:MM:SS\t    12 Query\t<sql>`, the time only on the first entry
 * of each second, else two tabs. MySQL 8: an ISO timestamp on every entry. A statement's further lines
 * follow as they are. Query, Prepare and Execute entries are statements (Execute with its values).
 */
function parseMysqlGeneral(text: string): string[] {
  const entry =
    /^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+)?\s+(\d+) ([A-Z][a-z]+(?: [A-Za-z]+)*)\t?(.*)$/;
  const result: string[] = [];
  for (const e of entries(text, (line) => entry.test(line))) {
    const newline = e.indexOf('\n');
    const first = newline < 0 ? e : e.slice(0, newline);
    const match = entry.exec(first);
    if (!match) continue;
    const command = match[2];
    if (command === 'Query' || command === 'Execute' || command === 'Prepare') {
      result.push((match[3] ?? '') + (newline < 0 ? '' : e.slice(newline)));
    }
  }
  return result;
}
