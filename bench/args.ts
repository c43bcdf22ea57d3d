/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly tables: number;
  readonly components: number;
  /** How many times the no-op re-plan is repeated (median reported). */
  readonly replans: number;
  /** Rounds of apply on a fresh copy and of the raw replay, interleaved (median reported). */
  readonly rounds: number;
  readonly output: string | undefined;
}

export const USAGE = `usage: npm run bench -- [--tables N] [--components N] [--replans N] [--rounds N]
                              [--output FILE]

  --tables N       tables in the benchmark database, each named by every policy (default 2000)
  --components N   components, i.e. policy files and logins (default 4)
  --replans N      repetitions of the no-op re-plan, median reported (default 5)
  --rounds N       applies on a fresh copy, and raw replays of the same statements, interleaved;
                   medians reported (default 3)
  --output FILE    where to write the JSON results (default bench/results.json)
`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tables: { type: 'string' },
      components: { type: 'string' },
      replans: { type: 'string' },
      rounds: { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    tables: positiveInt('--tables', values.tables, 2000, 99_999),
    components: positiveInt('--components', values.components, 4, 50),
    replans: positiveInt('--replans', values.replans, 5, 1000),
    rounds: positiveInt('--rounds', values.rounds, 3, 100),
    output: values.output,
  };
}

function positiveInt(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} wants a whole number from 1 to ${max}, got "${value}"`);
  }
  return n;
}
