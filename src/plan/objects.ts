import { compareText } from '../util/compare.js';
import type { ObjectRef, Privilege, TableInfo } from './types.js';

/** A stable text key for an object, for maps and ordering. */
export function objectKey(object: ObjectRef): string {
  switch (object.kind) {
    case 'database':
      return 'database';
    case 'schema':
      return `schema\u0000${object.schema}`;
    case 'table':
      return `table\u0000${object.schema}\u0000${object.table}`;
    case 'sequence':
      return `sequence\u0000${object.schema}\u0000${object.sequence}`;
  }
}

/** Database, then schemas, then tables, then sequences: the order an operator reads a grant list in. */
const OBJECT_KIND_ORDER: Record<ObjectRef['kind'], number> = {
  database: 0,
  schema: 1,
  table: 2,
  sequence: 3,
};

export function compareObjects(a: ObjectRef, b: ObjectRef): number {
  return OBJECT_KIND_ORDER[a.kind] - OBJECT_KIND_ORDER[b.kind] || compareText(objectKey(a), objectKey(b));
}

const PRIVILEGE_ORDER = ['connect', 'usage', 'select', 'insert', 'update', 'delete'];

/** Known privileges in SQL's customary order, others alphabetically after them. */
export function comparePrivilegeNames(a: Privilege, b: Privilege): number {
  const ia = PRIVILEGE_ORDER.indexOf(a);
  const ib = PRIVILEGE_ORDER.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return compareText(a, b);
}

export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/** Tables by schema and name: lookups stay constant-time with thousands of tables. */
export function indexTables(tables: readonly TableInfo[]): Map<string, TableInfo> {
  return new Map(tables.map((t) => [tableKey(t.schema, t.table), t]));
}
