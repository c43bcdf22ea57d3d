/**
 * vitest globalSetup: starts ONE PostgreSQL server (see postgres.ts) and, unless DBWARDEN_TEST_ENGINES
 * leaves it out, ONE MySQL-family server (see mariadb.ts) for the whole run, in parallel, and hands
 * their coordinates to every test file through `inject(...)`:
 *
 *   inject('pgAdminUrl')     // postgresql://postgres:<pw>@127.0.0.1:<port>/postgres
 *   inject('pgLogFile')      // server log with log_statement=all, or '' when unavailable
 *   inject('pgVersion')      // server_version, e.g. "15.14 (Debian 15.14-0+deb12u1)"
 *   inject('mysqlAdminUrl')  // mysql://root:<pw>@127.0.0.1:<port>/mysql, or '' when not selected
 *   inject('mysqlLogFile')   // the general log, or '' when unavailable
 *   inject('mysqlVersion')   // VERSION(), e.g. "10.11.19-MariaDB-0+deb12u1-log"
 *   inject('mysqlFlavor')    // 'mariadb' | 'mysql' | '' (not selected)
 *   inject('testEngines')    // the engine families the shared scenarios run on (engine-selection.ts)
 *
 * PostgreSQL always starts: the PostgreSQL-only test files need it whatever the selection.
 */
import type { TestProject } from 'vitest/node';
import { type EngineFamily, selectedEngineFamilies } from './engine-selection.js';
import { type MysqlServer, startMariadb } from './mariadb.js';
import { type PostgresServer, startPostgres } from './postgres.js';
import { errorText } from './server-common.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgLogFile: string;
    pgVersion: string;
    mysqlAdminUrl: string;
    mysqlLogFile: string;
    mysqlVersion: string;
    mysqlFlavor: '' | MysqlServer['flavor'];
    testEngines: EngineFamily[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const selection = selectedEngineFamilies();
  const wantMysql = selection.families.includes('mysql');
  process.stderr.write(
    `integration engines: ${selection.families.join(', ')} (${selection.reason})` +
      `${selection.families.includes('postgres') ? '' : '; PostgreSQL still starts for the PostgreSQL-only tests'}\n`,
  );

  const [pg, my] = await Promise.allSettled([
    startPostgres(),
    wantMysql ? startMariadb() : Promise.resolve(undefined),
  ]);
  if (pg.status === 'rejected' || my.status === 'rejected') {
    // Stop whichever did start, then report every failure.
    const started: (PostgresServer | MysqlServer | undefined)[] = [
      pg.status === 'fulfilled' ? pg.value : undefined,
      my.status === 'fulfilled' ? my.value : undefined,
    ];
    await Promise.all(started.map((s) => s?.stop().catch(() => undefined)));
    const reasons = [pg, my].flatMap((r) => (r.status === 'rejected' ? [errorText(r.reason)] : []));
    throw new Error(reasons.join('\n\n'));
  }
  const postgres = pg.value;
  const mariadb = my.value;

  project.provide('pgAdminUrl', postgres.adminUrl);
  project.provide('pgLogFile', postgres.logFile ?? '');
  project.provide('pgVersion', postgres.version);
  project.provide('mysqlAdminUrl', mariadb?.adminUrl ?? '');
  project.provide('mysqlLogFile', mariadb?.logFile ?? '');
  project.provide('mysqlVersion', mariadb?.version ?? '');
  project.provide('mysqlFlavor', mariadb?.flavor ?? '');
  project.provide('testEngines', [...selection.families]);
  return async () => {
    await Promise.all([postgres.stop(), mariadb?.stop()]);
  };
}
