/**
 * What the demo needs to know of the shipped policies (policies/nova/): the components, and the
 * tables each database kind must have. dbwarden itself reads and checks them properly; this only
 * looks up names.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export type Kind = 'api' | 'main';

export interface PolicySummary {
  /** Component names, with the database kinds each one's policy uses (empty: no login). */
  readonly components: ReadonlyMap<string, readonly string[]>;
  /** Table names per database kind, over every policy. */
  readonly tables: Readonly<Record<Kind, readonly string[]>>;
}

interface PolicyFile {
  component?: unknown;
  databases?: Record<string, { tables?: Record<string, unknown> } | null> | null;
}

export function readPolicies(policiesDir: string): PolicySummary {
  const components = new Map<string, string[]>();
  const tables: Record<Kind, Set<string>> = { api: new Set(), main: new Set() };
  for (const file of fs.readdirSync(policiesDir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const policy = YAML.parse(fs.readFileSync(path.join(policiesDir, file), 'utf8')) as PolicyFile | null;
    const databases = policy?.databases ?? {};
    const name = typeof policy?.component === 'string' ? policy.component : path.parse(file).name;
    components.set(name, Object.keys(databases));
    for (const [kind, db] of Object.entries(databases)) {
      if (kind !== 'api' && kind !== 'main') {
        throw new Error(`${file}: database kind ${kind}: the demo creates only api and main databases`);
      }
      for (const table of Object.keys(db?.tables ?? {})) tables[kind].add(table);
    }
  }
  return { components, tables: { api: [...tables.api].sort(), main: [...tables.main].sort() } };
}
