/**
 * A throwaway deployment for one test, on one engine of the table (test/harness/engines.ts): its own
 * database and app name (roles are server-wide), a config and policy files in a temp dir, and ways
 * to run the real CLI on it, in-process or as a child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { main } from '../../../src/cli/main.js';
import { type TestDatabase, uniqueName } from '../../harness/databases.js';
import type { Row, SqlConnection, TestEngine } from '../../harness/engines.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export type TableSpec =
  string[] | Partial<Record<'select' | 'insert' | 'update', string[] | 'all'> & { delete: 'all' }>;

export interface PolicySpec {
  readonly component: string;
  /** Tables of kind `main`, in the default schema; undefined: a component without databases. */
  readonly tables?: Readonly<Record<string, TableSpec>>;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Scenario {
  readonly engine: TestEngine;
  readonly app: string;
  readonly dir: string;
  readonly db: TestDatabase;
  /** The server's admin URL (holds a password: never print it). */
  readonly adminUrl: string;
  /** The schema plan output shows for this database's tables (PostgreSQL: public; MySQL: the database). */
  readonly schema: string;
  readonly credentialsDir: string;
  /** Environment of the CLI runs: PATH and MAIN_URL. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The CLI in-process, with --config pointing at this scenario. */
  cli(...args: string[]): Promise<CliRun>;
  /** The built binary as a child process. */
  spawnCli(...args: string[]): Promise<CliRun>;
  /** The argv of the built binary on this scenario (for tests that handle the process themselves). */
  binaryArgs(...args: string[]): string[];
  writePolicies(policies: readonly PolicySpec[]): void;
  /** SQL as the admin, in this scenario's database; rows of the last statement. */
  sql<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  admin<T>(fn: (c: SqlConnection) => Promise<T>): Promise<T>;
  credentials(component: string): {
    username: string;
    password: string;
    targets: Record<string, { url: string }>;
  };
  cleanup(): Promise<void>;
}

export async function createScenario(
  engine: TestEngine,
  options: {
    setupSql: string;
    policies: readonly PolicySpec[];
    hardenPublic?: boolean;
    /** More top-level config keys (secrets, masterKey, ...). */
    config?: Record<string, unknown>;
    /** More environment variables for the CLI (master keys, ...). */
    env?: Record<string, string>;
  },
): Promise<Scenario> {
  const adminUrl = engine.adminUrl();
  // MySQL role names hold at most 32 characters: <app>_conductor_role must fit.
  const app = uniqueName('t').slice(0, 16);
  const db = await engine.createDatabase();
  await engine.query(db.url, options.setupSql);
  const dir = writeDeployment(app, [{ name: 'main1', kind: 'main', urlVariable: 'MAIN_URL' }], {
    ...(options.hardenPublic ? { hardenPublic: true } : {}),
    ...options.config,
  });
  const credentialsDir = path.join(dir, 'credentials');
  const env = { PATH: process.env.PATH, MAIN_URL: db.url, ...options.env };
  const binaryArgs = (...args: string[]) => [
    path.join(root, 'bin/dbwarden.js'),
    '--config',
    path.join(dir, 'dbwarden.yaml'),
    ...args,
  ];

  const scenario: Scenario = {
    engine,
    app,
    dir,
    db,
    adminUrl,
    schema: engine.defaultSchema(db),
    credentialsDir,
    env,
    cli: (...args) => runCli(dir, env, args),
    binaryArgs,
    spawnCli: (...args) => runProcess(process.execPath, binaryArgs(...args), { cwd: dir, env }),
    writePolicies(policies) {
      const policyDir = path.join(dir, 'policies');
      for (const f of fs.readdirSync(policyDir)) fs.rmSync(path.join(policyDir, f));
      for (const p of policies) writePolicy(dir, p.component, p.tables ? { main: p.tables } : undefined);
    },
    sql: (text, params) => engine.query(db.url, text, params),
    admin: (fn) => engine.connect(db.url, fn),
    credentials(component) {
      return JSON.parse(
        fs.readFileSync(path.join(credentialsDir, `${component}.json`), 'utf8'),
      ) as ReturnType<Scenario['credentials']>;
    },
    async cleanup() {
      await db.drop();
      await engine.dropRolesWithPrefix(`${app}_`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  scenario.writePolicies(options.policies);
  return scenario;
}

/**
 * A temp dir holding `dbwarden.yaml` (targets' URLs from environment variables,
 * so no password is written) and an empty `policies/`; returns the dir.
 */
export function writeDeployment(
  app: string,
  targets: readonly { name: string; kind: string; urlVariable: string }[],
  extra: Record<string, unknown> = {},
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-it-'));
  fs.mkdirSync(path.join(dir, 'policies'));
  const config = {
    app,
    policies: 'policies',
    targets: targets.map((t) => ({ name: t.name, kind: t.kind, url: `\${${t.urlVariable}}` })),
    credentials: { dir: './credentials' },
    ...extra,
  };
  fs.writeFileSync(path.join(dir, 'dbwarden.yaml'), stringify(config));
  return dir;
}

/** `<dir>/policies/<component>.yaml`: database kind -> tables; undefined for no databases. */
export function writePolicy(
  dir: string,
  component: string,
  databases: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined,
): void {
  const doc = databases
    ? {
        component,
        databases: Object.fromEntries(Object.entries(databases).map(([kind, tables]) => [kind, { tables }])),
      }
    : { component };
  fs.writeFileSync(path.join(dir, 'policies', `${component}.yaml`), stringify(doc));
}

/** The CLI in-process on `<dir>/dbwarden.yaml`, with exactly this environment. */
/** Runs a command to its end, its output collected: the real binary, `unshare`, ... */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env: Readonly<Record<string, string | undefined>> },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function runCli(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[],
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(['--config', path.join(dir, 'dbwarden.yaml'), ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd: dir,
  });
  return { code, stdout, stderr };
}
