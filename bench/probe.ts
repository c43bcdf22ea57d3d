/**
 * Counts and times every query and connection made through node-postgres in this process, while
 * a recording is active. dbwarden's PostgreSQL dialect uses `pg.Client`, so this shows how many
 * round trips a plan or apply makes and how long each waited for the server, without touching
 * src/. Outside a recording the wrappers only check a flag.
 */
import pg from 'pg';

export interface QueryRecord {
  /** The SQL text, whitespace collapsed, password literals redacted (see `sqlText`). */
  readonly sql: string;
  readonly ms: number;
  readonly rows: number;
}

export interface Recording {
  readonly queries: QueryRecord[];
  readonly connects: number[];
}

let active: Recording | undefined;
let installed = false;

function sqlText(text: unknown): string {
  const sql = typeof text === 'string' ? text : ((text as { text?: unknown } | null)?.text ?? '');
  const flat = String(sql).replace(/\s+/g, ' ').trim();
  // CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$...': keep the verifier out of any output.
  return flat.replace(/PASSWORD\s+'[^']*'/gi, "PASSWORD '<redacted>'");
}

function rowCount(result: unknown): number {
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? rows.length : 0;
}

export function installProbe(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    connect: (...args: unknown[]) => unknown;
  };
  const originalQuery = proto.query;
  const originalConnect = proto.connect;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const recording = active;
    const start = performance.now();
    const result = originalQuery.apply(this, args);
    if (recording && result instanceof Promise) {
      result.then(
        (r: unknown) =>
          recording.queries.push({ sql: sqlText(args[0]), ms: performance.now() - start, rows: rowCount(r) }),
        () => recording.queries.push({ sql: sqlText(args[0]), ms: performance.now() - start, rows: 0 }),
      );
    }
    return result;
  };
  proto.connect = function (this: unknown, ...args: unknown[]): unknown {
    const recording = active;
    const start = performance.now();
    const result = originalConnect.apply(this, args);
    if (recording && result instanceof Promise) {
      result.then(
        () => recording.connects.push(performance.now() - start),
        () => undefined,
      );
    }
    return result;
  };
}

/** Runs fn with a fresh recording active; returns both. Recordings do not nest. */
export async function recorded<T>(fn: () => Promise<T>): Promise<{ value: T; recording: Recording }> {
  if (active) throw new Error('probe: recordings do not nest');
  const recording: Recording = { queries: [], connects: [] };
  active = recording;
  try {
    return { value: await fn(), recording };
  } finally {
    active = undefined;
  }
}
