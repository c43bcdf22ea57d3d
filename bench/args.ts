/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';
import { DEFAULT_BATCH_SIZE } from '../src/secrets/store/index.js';
import { LAYOUTS, type LayoutName } from './affinity.js';

/** Parts of the benchmark that can run on their own (`--only`). */
export const SECTIONS = ['plan', 'reencrypt', 'coldstart'] as const;
export type Section = (typeof SECTIONS)[number];

/** Engines the sections run on (`--engines`). */
export const ENGINES = ['postgres', 'mariadb'] as const;
export type Engine = (typeof ENGINES)[number];

export interface BenchOptions {
  readonly tables: number;
  readonly components: number;
  /** How many times the no-op re-plan is repeated (median reported). */
  readonly replans: number;
  /** Rounds of apply on a fresh copy and of the raw replay, interleaved (median reported). */
  readonly rounds: number;
  /** Rows in the re-encryption section's table. */
  readonly rows: number;
  /** Rows per batch of the re-encryption engine (each batch one transaction). */
  readonly batchSize: number;
  /** Runs of each command in the cold-start section (median reported). */
  readonly coldStarts: number;
  /** CPU layouts the re-encryption section runs in (affinity.ts). */
  readonly layouts: readonly LayoutName[];
  readonly sections: readonly Section[];
  readonly engines: readonly Engine[];
  readonly output: string | undefined;
}

export const USAGE = `usage: npm run bench -- [--only SECTIONS] [--engines ENGINES] [--tables N] [--components N]
                              [--replans N] [--rounds N] [--rows N] [--batch-size N] [--layouts LIST]
                              [--coldstarts N] [--output FILE]

  --only SECTIONS  comma-separated sections to run: ${SECTIONS.join(', ')} (default: all)
  --engines LIST   comma-separated engines: ${ENGINES.join(', ')} (default: both)

 plan (plan and apply):
  --tables N       tables in the benchmark database, each named by every policy (default 2000)
  --components N   components, i.e. policy files and logins (default 4)
  --replans N      repetitions of the no-op re-plan, median reported (default 5)
  --rounds N       applies on a fresh copy, and raw replays of the same statements, interleaved;
                   medians reported (default 3)

 reencrypt (the encrypted store's engine):
  --rows N         rows of random access and secret keys in the table (default 100000)
  --batch-size N   rows per batch, each batch one transaction (default ${DEFAULT_BATCH_SIZE}, as upgrade's)
  --layouts LIST   CPU layouts, each a full run: separate (database server pinned to the last
                   core, dbwarden to the others: the deployment's shape), shared (both on every
                   core) (default: both)

 coldstart (the compiled CLI from process start to exit):
  --coldstarts N   runs of each command, median reported (default 15)

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
      rows: { type: 'string' },
      'batch-size': { type: 'string' },
      layouts: { type: 'string' },
      coldstarts: { type: 'string' },
      only: { type: 'string' },
      engines: { type: 'string' },
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
    rows: positiveInt('--rows', values.rows, 100_000, 100_000_000),
    batchSize: positiveInt('--batch-size', values['batch-size'], DEFAULT_BATCH_SIZE, 100_000),
    layouts: list('--layouts', values.layouts, LAYOUTS),
    coldStarts: positiveInt('--coldstarts', values.coldstarts, 15, 1000),
    sections: list('--only', values.only, SECTIONS),
    engines: list('--engines', values.engines, ENGINES),
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

/** A comma-separated subset of `allowed`, in `allowed`'s order; all of it when the flag is absent. */
function list<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] {
  if (value === undefined) return [...allowed];
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; got "${value}"`);
  }
  return allowed.filter((a) => names.includes(a));
}
