/**
 * A small Nova-shaped deployment on the demo server: the API database and two cell databases,
 * each with the tables the shipped policies name for its kind, with Nova's real columns
 * (demo/nova-schema.json: Nova's API and main databases as Nova's own migrations make them, without
 * the shadow_* archive tables), and a `users` table of plaintext access and secret keys in the
 * cells: Nova's historical EC2 credentials table, the one examples/nova/dbwarden.yaml encrypts.
 *
 * Every statement is built from names in those two files; the only values sent are the generated
 * keys, as query parameters.
 */
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type Kind, readPolicies } from './policies.js';

export interface DemoDatabase {
  readonly name: string;
  readonly kind: Kind;
  /** Rows of plaintext keys to put in `users` (main databases only). */
  readonly users: number;
}

export const DATABASES: readonly DemoDatabase[] = [
  { name: 'nova_api', kind: 'api', users: 0 },
  // cell0 holds only the instances that failed to schedule: its users table stays empty.
  { name: 'nova_cell0', kind: 'main', users: 0 },
  { name: 'nova_cell1', kind: 'main', users: 1000 },
];

export const USERS_TABLE = 'users';

interface TableDef {
  columns: Record<string, string>;
  primaryKey: string[];
}
type NovaSchema = Record<Kind, Record<string, TableDef>>;

const NOVA_SCHEMA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'nova-schema.json');

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Nova's (MySQL-flavoured) column types in PostgreSQL, as SQLAlchemy makes them there. */
function columnType(column: string, type: string, serial: boolean): string {
  if (serial) return type === 'BIGINT' ? 'bigserial' : 'serial';
  const varchar = /^VARCHAR\((\d+)\)$/.exec(type);
  if (varchar) return `varchar(${varchar[1]})`;
  const enumValues = /^ENUM\((.*)\)$/.exec(type);
  if (enumValues) {
    const values = [...(enumValues[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
    return `varchar(255) check (${ident(column)} in (${values.map(literal).join(', ')}))`;
  }
  switch (type) {
    case 'INTEGER':
      return 'integer';
    case 'BIGINT':
      return 'bigint';
    case 'DATETIME':
      return 'timestamp';
    case 'BOOL':
      return 'boolean';
    case 'FLOAT':
      return 'double precision';
    case 'TEXT':
    case 'MEDIUMTEXT':
      return 'text';
    default:
      throw new Error(`column ${column}: no PostgreSQL type for ${type}`);
  }
}

function createTable(name: string, def: TableDef): string {
  const [onlyKey, ...more] = def.primaryKey;
  const columns = Object.entries(def.columns).map(([column, type]) => {
    const serial = more.length === 0 && column === onlyKey && (type === 'INTEGER' || type === 'BIGINT');
    return `  ${ident(column)} ${columnType(column, type, serial)}`;
  });
  if (def.primaryKey.length > 0) columns.push(`  primary key (${def.primaryKey.map(ident).join(', ')})`);
  return `create table ${ident(name)} (\n${columns.join(',\n')}\n);`;
}

const USERS_DDL = `create table ${ident(USERS_TABLE)} (
  id serial primary key,
  name varchar(255) not null,
  access_key varchar(255) not null,
  secret_key varchar(255) not null,
  is_admin boolean not null default false,
  created_at timestamp not null default now()
);`;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** AWS-shaped: a 20-character access key id and a 40-character secret. */
function newKeyPair(): { accessKey: string; secretKey: string } {
  let accessKey = 'AKIA';
  for (let i = 0; i < 16; i++) accessKey += BASE32[randomInt(32)] ?? 'A';
  return { accessKey, secretKey: randomBytes(30).toString('base64') };
}

export interface SchemaResult {
  /** Nova tables created per database (users not counted). */
  readonly tables: Record<string, number>;
  /** Every plaintext written: the caller keeps them out of all output. */
  readonly plaintexts: string[];
}

export async function createNovaSchema(
  adminUrl: (database: string) => string,
  policiesDir: string,
): Promise<SchemaResult> {
  const schema = JSON.parse(fs.readFileSync(NOVA_SCHEMA, 'utf8')) as NovaSchema;
  const wanted = readPolicies(policiesDir).tables;
  for (const kind of ['api', 'main'] as const) {
    const unknown = wanted[kind].filter((t) => schema[kind][t] === undefined);
    if (unknown.length > 0) {
      throw new Error(`the policies name ${kind} tables Nova does not have: ${unknown.join(', ')}`);
    }
  }

  const admin = new pg.Client({ connectionString: adminUrl('postgres') });
  await admin.connect();
  try {
    for (const db of DATABASES) await admin.query(`create database ${ident(db.name)}`);
  } finally {
    await admin.end();
  }

  const tables: Record<string, number> = {};
  const plaintexts: string[] = [];
  for (const db of DATABASES) {
    const ddl = wanted[db.kind].map((t) => createTable(t, schema[db.kind][t] as TableDef));
    if (db.kind === 'main') ddl.push(USERS_DDL);
    const client = new pg.Client({ connectionString: adminUrl(db.name) });
    await client.connect();
    try {
      await client.query(`begin;\n${ddl.join('\n')}\ncommit;`);
      if (db.users > 0) {
        const names: string[] = [];
        const access: string[] = [];
        const secret: string[] = [];
        for (let i = 1; i <= db.users; i++) {
          const { accessKey, secretKey } = newKeyPair();
          names.push(`demo-user-${String(i).padStart(4, '0')}`);
          access.push(accessKey);
          secret.push(secretKey);
        }
        plaintexts.push(...access, ...secret);
        await client.query(
          `insert into ${ident(USERS_TABLE)} (name, access_key, secret_key, is_admin)
           select n, a, s, (row_number() over () = 1) from unnest($1::text[], $2::text[], $3::text[]) as u(n, a, s)`,
          [names, access, secret],
        );
      }
    } finally {
      await client.end();
    }
    tables[db.name] = wanted[db.kind].length;
  }
  return { tables, plaintexts };
}
