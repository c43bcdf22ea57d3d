/**
 * Reads the statements a test server received from its own log: PostgreSQL's server log with
 * log_statement=all, or the general log of MariaDB/MySQL. Tests put a marker statement
 * (`SELECT '<marker>'`) in the log and read what came after it.
 */
import fs from 'node:fs';

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
