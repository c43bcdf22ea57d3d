/**
 * vitest globalSetup: starts ONE PostgreSQL server for the whole run (see postgres.ts for where it
 * comes from) and hands its coordinates to every test file through `inject(...)`:
 *
 *   const adminUrl = inject('pgAdminUrl');  // postgresql://postgres:<pw>@127.0.0.1:<port>/postgres
 *   const logFile = inject('pgLogFile');    // server log with log_statement=all, or '' when unavailable
 *   const version = inject('pgVersion');    // server_version, e.g. "15.14 (Debian 15.14-0+deb12u1)"
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgLogFile: string;
    pgVersion: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('pgAdminUrl', server.adminUrl);
  project.provide('pgLogFile', server.logFile ?? '');
  project.provide('pgVersion', server.version);
  return () => server.stop();
}
