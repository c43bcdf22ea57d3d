/**
 * A throwaway deployment for one test: its own database and app name (roles are
 * cluster-wide), a config and policy files in a temp dir, and ways to run the
 * real CLI on it, in-process or as a child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../../src/cli/main.js';
import {
  createDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  uniqueName,
  withClient,
} from '../../harness/databases.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export type TableSpec =
  string[] | Partial<Record<'select' | 'insert' | 'update', string[] | 'all'> & { delete: 'all' }>;

export interface PolicySpec {
  readonly component: string;
  /** Tables of kind `main`, schema public; undefined: a component without databases. */
  readonly tables?: Readonly<Record<string, TableSpec>>;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Scenario {
  readonly app: string;
  readonly dir: string;
  readonly db: TestDatabase;
  readonly adminUrl: string;
  readonly credentialsDir: string;
  /** The CLI in-process, with --config pointing at this scenario. */
  cli(...args: string[]): Promise<CliRun>;
  /** The built binary as a child process. */
  spawnCli(...args: string[]): Promise<CliRun>;
  writePolicies(policies: readonly PolicySpec[]): void;
  admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T>;
  credentials(component: string): {
    username: string;
    password: string;
    targets: Record<string, { url: string }>;
  };
  cleanup(): Promise<void>;
}

export async function createScenario(options: {
  setupSql: string;
  policies: readonly PolicySpec[];
  hardenPublic?: boolean;
}): Promise<Scenario> {
  const adminUrl = inject('pgAdminUrl');
  const app = uniqueName('t').slice(0, 20);
  const db = await createDatabase(adminUrl);
  await withClient(db.url, (c) => c.query(options.setupSql));
  const dir = writeDeployment(app, [{ name: 'main1', kind: 'main', urlVariable: 'MAIN_URL' }], {
    ...(options.hardenPublic ? { hardenPublic: true } : {}),
  });
  const credentialsDir = path.join(dir, 'credentials');
  const env = { PATH: process.env.PATH, MAIN_URL: db.url };

  const scenario: Scenario = {
    app,
    dir,
    db,
    adminUrl,
    credentialsDir,
    cli: (...args) => runCli(dir, env, args),
    spawnCli(...args) {
      return new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [path.join(root, 'bin/dbwarden.js'), '--config', path.join(dir, 'dbwarden.yaml'), ...args],
          { cwd: dir, env },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          resolve({ code: code ?? -1, stdout, stderr });
        });
      });
    },
    writePolicies(policies) {
      const policyDir = path.join(dir, 'policies');
      for (const f of fs.readdirSync(policyDir)) fs.rmSync(path.join(policyDir, f));
      for (const p of policies) writePolicy(dir, p.component, p.tables ? { main: p.tables } : undefined);
    },
    admin: (fn) => withClient(db.url, fn),
    credentials(component) {
      return JSON.parse(
        fs.readFileSync(path.join(credentialsDir, `${component}.json`), 'utf8'),
      ) as ReturnType<Scenario['credentials']>;
    },
    async cleanup() {
      await db.drop();
      await dropRolesWithPrefix(adminUrl, `${app}_`);
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

/** Runs fn as the given login URL inside a transaction that is always rolled back. */
export async function asLogin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, async (c) => {
    await c.query('BEGIN');
    try {
      return await fn(c);
    } finally {
      await c.query('ROLLBACK');
    }
  });
}

/** The SQLSTATE of a statement run inside a savepoint, or 'ok'. */
export async function outcome(c: pg.Client, sql: string): Promise<string> {
  await c.query('SAVEPOINT probe');
  try {
    await c.query(sql);
    await c.query('RELEASE SAVEPOINT probe');
    return 'ok';
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT probe');
    return (err as { code?: string }).code ?? 'error';
  }
}

export const ident = (name: string): string => pg.escapeIdentifier(name);
