/**
 * The benchmark's input: a database with many tables (created in one DO block), and a dbwarden
 * config with one target and one policy file per component, each naming every table with a mix
 * of table-level and column-level verbs.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';

/** Every table: `id serial primary key` (so an owned sequence) and four text columns. */
export const TABLE_COLUMNS = ['id', 'a', 'b', 'c', 'd'] as const;

export function tableName(i: number): string {
  return `t${String(i).padStart(5, '0')}`;
}

/**
 * Tables per transaction: each table takes several locks (table, sequence, index, TOAST), and one
 * transaction may hold only max_locks_per_transaction x max_connections of them.
 */
const TABLES_PER_BATCH = 1000;

/** Creates tables t00001..tNNNNN in the connected database: one DO block per 1,000 tables. */
export async function createTables(client: pg.Client, count: number): Promise<void> {
  for (let first = 1; first <= count; first += TABLES_PER_BATCH) {
    const last = Math.min(count, first + TABLES_PER_BATCH - 1);
    await client.query(`
      do $$
      begin
        for i in ${first}..${last} loop
          execute format('create table public.%I (id serial primary key, a text, b text, c text, d text)',
                         't' || lpad(i::text, 5, '0'));
        end loop;
      end
      $$`);
  }
}

/**
 * The access forms the policies use, in YAML flow syntax. Table-level lists, column-level maps,
 * and forms with insert (which give USAGE on the table's owned sequence).
 */
export const ACCESS_FORMS = [
  { yaml: '[select]', kind: 'table-level' },
  { yaml: '[select, insert, update]', kind: 'table-level, insert' },
  { yaml: '{select: [id, a, b], update: [c]}', kind: 'column-level' },
  { yaml: '[select, insert, update, delete]', kind: 'table-level, insert' },
  { yaml: '{select: [id, a, b, c], insert: [a, b], update: [b, d]}', kind: 'column-level, insert' },
] as const;

/** Which form component `c` uses for table `i`: every component gets a different mix. */
export function formFor(component: number, table: number): (typeof ACCESS_FORMS)[number] {
  const form = ACCESS_FORMS[(table * 7 + component * 3) % ACCESS_FORMS.length];
  if (!form) throw new Error('unreachable: form index out of range');
  return form;
}

export function componentName(c: number): string {
  return `comp${c + 1}`;
}

export function policyYaml(component: number, tables: number): string {
  const lines = [
    `component: ${componentName(component)}`,
    `description: benchmark component ${component + 1} of dbwarden's npm run bench`,
    'databases:',
    '  main:',
    '    tables:',
  ];
  for (let i = 1; i <= tables; i++) lines.push(`      ${tableName(i)}: ${formFor(component, i).yaml}`);
  return `${lines.join('\n')}\n`;
}

/** Environment variable the config reads the admin URL from (the URL never goes to disk). */
export const URL_VARIABLE = 'DBWARDEN_BENCH_ADMIN_URL';
export const APP = 'bench';
export const TARGET = 'bench';

export interface WrittenConfig {
  readonly configPath: string;
  readonly policyFiles: readonly string[];
  readonly policyBytes: number;
}

/** Writes dbwarden.yaml and policies/compN.yaml into dir. */
export async function writeConfig(dir: string, components: number, tables: number): Promise<WrittenConfig> {
  const policies = path.join(dir, 'policies');
  await fsp.mkdir(policies, { recursive: true });
  let policyBytes = 0;
  const policyFiles: string[] = [];
  for (let c = 0; c < components; c++) {
    const text = policyYaml(c, tables);
    policyBytes += Buffer.byteLength(text);
    const file = path.join(policies, `${componentName(c)}.yaml`);
    await fsp.writeFile(file, text);
    policyFiles.push(file);
  }
  const configPath = path.join(dir, 'dbwarden.yaml');
  await fsp.writeFile(
    configPath,
    [
      `app: ${APP}`,
      'policies: ./policies',
      'targets:',
      `  - name: ${TARGET}`,
      '    kind: main',
      `    url: \${${URL_VARIABLE}}`,
      'credentials:',
      '  dir: ./credentials',
      '',
    ].join('\n'),
  );
  return { configPath, policyFiles, policyBytes };
}

/** Login and grant-role names dbwarden makes for the components (see design.md §3). */
export function managedRoles(components: number): string[] {
  const names: string[] = [];
  for (let c = 0; c < components; c++) {
    names.push(`${APP}_${componentName(c)}`, `${APP}_${componentName(c)}_role`);
  }
  return names;
}
