/**
 * What `verify` expects a login to be able to do, and how that differs from
 * what it can do. Pure: the runner supplies what the login reported.
 */
import { compareText, compareTuples } from '../util/compare.js';
import { indexTables } from './objects.js';
import { policyGrants, targetDatabases } from './policy-grants.js';
import type { DesiredComponent, DesiredTarget, EffectivePrivilege, TargetCatalog } from './types.js';

export interface PrivilegeDifference {
  readonly problem: 'missing' | 'extra';
  readonly kind: EffectivePrivilege['kind'];
  readonly schema: string;
  readonly name: string;
  readonly privilege: string;
  /** 'all': on the whole object; otherwise these columns. */
  readonly columns: 'all' | readonly string[];
}

/**
 * The privileges a component's policy gives it on one target, as the login
 * should see them: the planner's own expansion (policy-grants.ts). CONNECT
 * on the database is left out: logging in at all shows it.
 */
export function expectedPrivileges(
  component: DesiredComponent,
  target: DesiredTarget,
  catalog: TargetCatalog,
): EffectivePrivilege[] {
  return policyGrants(component, target, catalog, indexTables(catalog.tables)).flatMap(
    ({ object, privilege, columns }): EffectivePrivilege[] => {
      switch (object.kind) {
        case 'database':
          return [];
        case 'schema':
          return [{ kind: 'schema', schema: object.schema, name: object.schema, privilege, columns }];
        case 'table':
          return [{ kind: 'table', schema: object.schema, name: object.table, privilege, columns }];
        case 'sequence':
          return [{ kind: 'sequence', schema: object.schema, name: object.sequence, privilege, columns }];
      }
    },
  );
}

/** The schemas verify asks the login about on this target. */
export function schemasOf(
  component: DesiredComponent,
  target: DesiredTarget,
  defaultSchema: string,
): string[] {
  const schemas = targetDatabases(component, target, defaultSchema).map((db) => db.schema);
  return [...new Set(schemas)].sort(compareText);
}

type Holding = 'all' | Set<string>;

function holdings(
  privileges: readonly EffectivePrivilege[],
): Map<string, { p: EffectivePrivilege; held: Holding }> {
  const map = new Map<string, { p: EffectivePrivilege; held: Holding }>();
  for (const p of privileges) {
    const key = [p.kind, p.schema, p.name, p.privilege].join('\u0000');
    const entry = map.get(key);
    const held: Holding = p.columns === 'all' ? 'all' : new Set(p.columns);
    if (!entry) map.set(key, { p, held });
    else if (entry.held !== 'all') entry.held = held === 'all' ? 'all' : new Set([...entry.held, ...held]);
  }
  return map;
}

/** Missing and extra privileges, per object and privilege, in a stable order. */
export function privilegeDifferences(
  expected: readonly EffectivePrivilege[],
  actual: readonly EffectivePrivilege[],
): PrivilegeDifference[] {
  const want = holdings(expected);
  const have = holdings(actual);
  const differences: PrivilegeDifference[] = [];
  const add = (problem: PrivilegeDifference['problem'], p: EffectivePrivilege, columns: 'all' | string[]) => {
    if (columns !== 'all' && columns.length === 0) return;
    differences.push({
      problem,
      kind: p.kind,
      schema: p.schema,
      name: p.name,
      privilege: p.privilege,
      columns,
    });
  };
  for (const [key, { p, held: wanted }] of want) {
    const held = have.get(key)?.held;
    if (held === undefined) add('missing', p, wanted === 'all' ? 'all' : [...wanted]);
    else if (wanted === 'all' && held !== 'all') add('missing', p, 'all');
    else if (wanted !== 'all' && held !== 'all')
      add(
        'missing',
        p,
        [...wanted].filter((c) => !held.has(c)),
      );
  }
  for (const [key, { p, held }] of have) {
    const wanted = want.get(key)?.held;
    if (wanted === undefined) add('extra', p, held === 'all' ? 'all' : [...held]);
    else if (held === 'all' && wanted !== 'all') add('extra', p, 'all');
    else if (held !== 'all' && wanted !== 'all')
      add(
        'extra',
        p,
        [...held].filter((c) => !wanted.has(c)),
      );
  }
  return differences
    .map((d) => (d.columns === 'all' ? d : { ...d, columns: [...d.columns].sort(compareText) }))
    .sort((a, b) =>
      compareTuples(
        [a.schema, a.name, a.kind, a.privilege, a.problem],
        [b.schema, b.name, b.kind, b.privilege, b.problem],
      ),
    );
}
