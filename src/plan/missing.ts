import { compareTuples } from '../util/compare.js';
import { indexTables, tableKey } from './objects.js';
import { targetDatabases } from './policy-grants.js';
import type { Catalog, DesiredState } from './types.js';

/** A table or column a policy names that a target does not have. */
export interface MissingObject {
  readonly target: string;
  readonly component: string;
  readonly schema: string;
  readonly table: string;
  /** Undefined when the whole table is missing. */
  readonly column: string | undefined;
}

/**
 * Every table and column the policies name that a target lacks. Granting on
 * them would fail halfway through an apply, so callers refuse the plan first.
 */
export function missingObjects(desired: DesiredState, catalog: Catalog): MissingObject[] {
  const missing: MissingObject[] = [];
  for (const target of desired.targets) {
    const targetCatalog = catalog.targets[target.name];
    if (!targetCatalog) continue;
    const tables = indexTables(targetCatalog.tables);
    for (const component of desired.components) {
      for (const { schema, tables: accesses } of targetDatabases(
        component,
        target,
        targetCatalog.defaultSchema,
      )) {
        for (const access of accesses) {
          const base = { target: target.name, component: component.component, schema, table: access.table };
          const info = tables.get(tableKey(schema, access.table));
          if (!info) {
            missing.push({ ...base, column: undefined });
            continue;
          }
          const columns = new Set(access.grants.flatMap((g) => (g.columns === 'all' ? [] : g.columns)));
          for (const column of columns) {
            if (!info.columns.includes(column)) missing.push({ ...base, column });
          }
        }
      }
    }
  }
  return missing.sort((a, b) =>
    compareTuples(
      [a.target, a.component, a.schema, a.table, a.column ?? ''],
      [b.target, b.component, b.schema, b.table, b.column ?? ''],
    ),
  );
}
