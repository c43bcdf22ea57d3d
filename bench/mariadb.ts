/**
 * The plan/apply benchmark on MariaDB: the same policies as the PostgreSQL section (--tables
 * tables, --components components each naming every table), on a throwaway MariaDB from
 * test/harness/mariadb.ts. Times plan on the fresh database, apply, the no-op re-plan (median of
 * --replans) and the no-op apply; the baseline is the statements apply ran, replayed raw with one
 * mysql2 connection (one round trip per statement, as apply sends them) after the accounts were
 * dropped again, interleaved with more applies from scratch (--rounds).
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { loadDeployment } from '../src/policy/load.js';
import type { Deployment } from '../src/policy/model.js';
import { type PlanResult, runApply, runPlan } from '../src/runner/apply.js';
import { dropMysqlAccountsWithPrefix, withMysql } from '../test/harness/mysql-databases.js';
import { type MysqlServer, startMariadb } from '../test/harness/mariadb.js';
import type { BenchOptions } from './args.js';
import { APP, tableName, URL_VARIABLE, writeConfig } from './fixture.js';
import { type Metric, withRatio } from './report.js';
import { median, timed } from './stats.js';

const quiet = () => undefined;
const TABLES_PER_STATEMENT_BATCH = 200;

export interface MariadbOutcome {
  readonly version: string;
  readonly metrics: Metric[];
}

function statementsOf(result: PlanResult) {
  return result.targets.flatMap((t) => t.changes.flatMap((c) => c.statements));
}

function changeCount(result: PlanResult): number {
  return result.targets.reduce((n, t) => n + t.changes.length, 0);
}

/** Tables t00001..tNNNNN with the PostgreSQL section's columns (AUTO_INCREMENT needs no grant). */
async function createTables(url: string, count: number): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  try {
    for (let first = 1; first <= count; first += TABLES_PER_STATEMENT_BATCH) {
      const last = Math.min(count, first + TABLES_PER_STATEMENT_BATCH - 1);
      const statements: string[] = [];
      for (let i = first; i <= last; i++) {
        statements.push(
          `CREATE TABLE \`${tableName(i)}\` (id INT AUTO_INCREMENT PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT)`,
        );
      }
      await connection.query(statements.join(';\n'));
    }
  } finally {
    await connection.end();
  }
}

/** The statements apply ran, one by one on one connection. */
async function replay(adminUrl: string, statements: readonly string[]): Promise<number> {
  return withMysql(adminUrl, async (c) => {
    const start = performance.now();
    for (const sql of statements) await c.query(sql);
    return performance.now() - start;
  });
}

export async function benchMariadb(
  options: BenchOptions,
  onCleanup: (what: string, run: () => Promise<void>) => void,
  progress: (text: string) => void,
): Promise<MariadbOutcome> {
  const server: MysqlServer = await startMariadb();
  onCleanup('stop MariaDB', () => server.stop());
  // The harness logs every statement for the tests; a production server does not.
  await withMysql(server.adminUrl, (c) => c.query('SET GLOBAL general_log = 0'));
  const database = `bench_${process.pid}`;
  const url = server.adminUrl.replace(/\/mysql$/, `/${database}`);
  await withMysql(server.adminUrl, (c) => c.query(`CREATE DATABASE \`${database}\``));
  progress(`MariaDB ${server.version}: creating ${options.tables} tables`);
  await createTables(url, options.tables);

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-bench-mariadb-'));
  onCleanup('remove the MariaDB bench directory', () => fsp.rm(dir, { recursive: true, force: true }));
  const { configPath } = await writeConfig(dir, options.components, options.tables);
  const env = { ...process.env, [URL_VARIABLE]: url };
  const loaded = loadDeployment(configPath, env);
  if (!loaded.value) throw new Error('bench: the MariaDB benchmark config did not load');
  const deployment: Deployment = loaded.value;
  const dropAccounts = () => dropMysqlAccountsWithPrefix(server.adminUrl, `${APP}_`);
  onCleanup('drop the MariaDB bench accounts', dropAccounts);
  const removeCredentials = () => fsp.rm(path.join(dir, 'credentials'), { recursive: true, force: true });

  progress('MariaDB: plan on the fresh database');
  const fresh = await timed(() => runPlan(deployment, { log: quiet, rotatePasswords: false }));
  progress(`MariaDB: apply (${changeCount(fresh.value)} changes)`);
  const applied = await timed(() =>
    runApply(deployment, { log: quiet, rotatePasswords: false, lockWaitSeconds: 60 }),
  );
  const statements = statementsOf(applied.value).map((s) => s.sql);

  progress(`MariaDB: no-op re-plan x${options.replans}`);
  const replans: number[] = [];
  for (let i = 0; i < options.replans; i++) {
    const again = await timed(() => runPlan(deployment, { log: quiet, rotatePasswords: false }));
    if (changeCount(again.value) !== 0)
      throw new Error(`bench: the MariaDB re-plan after apply is not empty`);
    replans.push(again.ms);
  }
  const noopApply = await timed(() =>
    runApply(deployment, { log: quiet, rotatePasswords: false, lockWaitSeconds: 60 }),
  );
  const noopStatements = statementsOf(noopApply.value).length;

  progress(`MariaDB: ${options.rounds} rounds of raw replay and apply from scratch`);
  const raws: number[] = [];
  const applies: number[] = [applied.ms];
  for (let round = 0; round < options.rounds; round++) {
    await dropAccounts();
    raws.push(await replay(url, statements));
    await dropAccounts();
    await removeCredentials();
    applies.push(
      (await timed(() => runApply(deployment, { log: quiet, rotatePasswords: false, lockWaitSeconds: 60 })))
        .ms,
    );
  }

  const raw: Metric = {
    id: 'mariadb.baseline.rawStatements',
    label: 'baseline: raw statements (MariaDB)',
    ms: median(raws),
    notes: `${statements.length} statements on one connection, median of ${raws.length}`,
  };
  const metrics: Metric[] = [
    {
      id: 'mariadb.plan.fresh',
      label: 'plan, fresh database (MariaDB)',
      ms: fresh.ms,
      notes: `${changeCount(fresh.value)} changes`,
    },
    withRatio(
      {
        id: 'mariadb.apply',
        label: 'apply from scratch (MariaDB)',
        ms: median(applies),
        notes: `${statements.length} statements; median of ${applies.length}`,
      },
      raw,
    ),
    {
      id: 'mariadb.replan.noop',
      label: 'no-op re-plan (MariaDB)',
      ms: median(replans),
      notes: `0 changes; median of ${replans.length}`,
    },
    {
      id: 'mariadb.apply.noop',
      label: 'no-op apply (MariaDB)',
      ms: noopApply.ms,
      notes: `${noopStatements} statements`,
    },
    raw,
  ];
  if (noopStatements !== 0)
    throw new Error(`bench: the MariaDB no-op apply ran ${noopStatements} statements`);
  return { version: server.version, metrics };
}
