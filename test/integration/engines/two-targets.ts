/**
 * Nova's shape: an API database and a cell database on one server, managed
 * through the engine's target admin (PostgreSQL: not a superuser, CREATEROLE
 * and owner of both databases, as on managed cloud databases; MySQL: root).
 * Used by engines/multi-target.test.ts and postgres/multi-target.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type TestDatabase, uniqueName } from '../../harness/databases.js';
import type { TargetAdmin, TestEngine } from '../../harness/engines.js';
import { type CliRun, runCli, writeDeployment, writePolicy } from './scenario.js';

export interface TwoTargets {
  readonly app: string;
  readonly dir: string;
  /** [api, cell] */
  readonly dbs: readonly [TestDatabase, TestDatabase];
  readonly admin: TargetAdmin;
  cli(...args: string[]): Promise<CliRun>;
  credentials(component: string): { targets: Record<string, { url: string }> };
  cleanup(): Promise<void>;
}

export const TWO_TARGET_POLICIES: Record<string, Record<string, Record<string, unknown>>> = {
  api: {
    api: { instance_mappings: ['select', 'insert'], flavors: ['select'] },
    main: { instances: ['select'] },
  },
  scheduler: { main: { compute_nodes: ['select'], instances: { select: ['uuid', 'host'] } } },
  conductor: {
    api: { instance_mappings: ['select', 'update'] },
    main: { instances: ['select', 'insert', 'update'] },
  },
};

export async function createTwoTargets(engine: TestEngine): Promise<TwoTargets> {
  const app = uniqueName('m').slice(0, 16);
  const apiDb = await engine.createDatabase();
  const cellDb = await engine.createDatabase();
  const dbs = [apiDb, cellDb] as const;
  const admin = await engine.targetAdmin(app, dbs);
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    API_URL: admin.urlOf(apiDb),
    CELL_URL: admin.urlOf(cellDb),
  };
  const id = engine.serialId;
  await admin.setup(
    apiDb,
    `create table instance_mappings (${id}, instance_uuid text); create table flavors (${id}, name text);`,
  );
  await admin.setup(
    cellDb,
    `create table instances (${id}, uuid text, host text); create table compute_nodes (${id}, host text);`,
  );
  const dir = writeDeployment(app, [
    { name: 'nova_api', kind: 'api', urlVariable: 'API_URL' },
    { name: 'nova_cell1', kind: 'main', urlVariable: 'CELL_URL' },
  ]);
  for (const [component, databases] of Object.entries(TWO_TARGET_POLICIES))
    writePolicy(dir, component, databases);
  return {
    app,
    dir,
    dbs,
    admin,
    cli: (...args) => runCli(dir, env, args),
    credentials: (component) =>
      JSON.parse(fs.readFileSync(path.join(dir, 'credentials', `${component}.json`), 'utf8')) as {
        targets: Record<string, { url: string }>;
      },
    async cleanup() {
      for (const db of dbs) await db.drop();
      await engine.dropRolesWithPrefix(`${app}_`);
      await admin.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
