/**
 * One policy file: YAML text -> validated, frozen ComponentPolicy.
 * Pure: the caller reads the file.
 */
import { compareText } from '../util/compare.js';
import type { DiagnosticList } from './diagnostics.js';
import {
  type ComponentPolicy,
  type DatabaseAccess,
  deepFreeze,
  type TableAccess,
  VERBS,
  type Verb,
  type VerbGrant,
} from './model.js';
import { invisibleCharacterProblem } from './names.js';
import { type PolicyInput, policySchema, type TableAccessInput } from './schema.js';
import { type PathSegment, parseYaml, positionOf, toPlainValue, type YamlSource } from './yaml-source.js';
import { reportZodIssues } from './zod-issues.js';

export interface ParsedPolicy {
  readonly policy: ComponentPolicy;
  readonly source: YamlSource;
}

export function parsePolicy(file: string, text: string, diags: DiagnosticList): ParsedPolicy | undefined {
  const before = diags.errors.length;
  const source = parseYaml(file, text, diags);
  if (!source) return undefined;
  const value = toPlainValue(source, diags);
  if (value === undefined) return undefined;
  const parsed = policySchema.safeParse(value, { reportInput: true });
  if (!parsed.success) reportZodIssues(parsed.error.issues, policySchema, source, diags);
  // Runs on the raw value, so these problems are reported even next to structural ones.
  checkPolicyNames(value, source, diags);
  if (!parsed.success || diags.errors.length > before) return undefined;
  return { policy: deepFreeze(toModel(parsed.data, file)), source };
}

/**
 * Duplicates inside verb and column lists, and names no engine can hold.
 * Tolerant of a wrong shape (the schema reports that): it checks what it can.
 */
function checkPolicyNames(value: unknown, source: YamlSource, diags: DiagnosticList): void {
  const report: NameReport = { source, diags };
  for (const [kind, access] of Object.entries(asRecord(asRecord(value)?.databases) ?? {})) {
    const kindPath = ['databases', kind];
    const kindAccess = asRecord(access);
    if (typeof kindAccess?.schema === 'string') {
      checkName(kindAccess.schema, 'schema', { path: [...kindPath, 'schema'] }, report);
    }
    const tables = asRecord(kindAccess?.tables);
    if (!tables) continue;
    if (Object.keys(tables).length === 0) {
      diags.error(
        positionOf(source, [...kindPath, 'tables'], 'key'),
        `database kind "${kind}" lists no tables`,
        'list the tables this component needs, or remove the database kind',
      );
    }
    for (const [table, tableAccess] of Object.entries(tables)) {
      const tablePath = [...kindPath, 'tables', table];
      checkName(table, 'table name', { path: tablePath, at: 'key' }, report);
      checkTableAccess(tableAccess, tablePath, report);
    }
  }
}

function checkTableAccess(access: unknown, path: readonly PathSegment[], report: NameReport): void {
  const { source, diags } = report;
  if (Array.isArray(access)) {
    reportDuplicates(access, 'verb', path, report);
    return;
  }
  const form = asRecord(access);
  if (!form) return;
  const verbs = Object.entries(form).filter(([, columns]) => columns !== undefined);
  if (verbs.length === 0) {
    diags.error(positionOf(source, path), 'no verbs given', `list at least one of: ${VERBS.join(', ')}`);
  }
  for (const [verb, columns] of verbs) {
    if (!Array.isArray(columns)) continue;
    reportDuplicates(columns, 'column', [...path, verb], report);
    columns.forEach((column, i) => {
      if (typeof column === 'string') checkName(column, 'column name', { path: [...path, verb, i] }, report);
    });
  }
}

/** Where the name checks report: the policy's YAML, and the list its problems go to. */
interface NameReport {
  readonly source: YamlSource;
  readonly diags: DiagnosticList;
}

function reportDuplicates(
  items: readonly unknown[],
  what: string,
  path: readonly PathSegment[],
  { source, diags }: NameReport,
): void {
  items.forEach((item, i) => {
    if (typeof item === 'string' && items.indexOf(item) !== i) {
      diags.error(positionOf(source, [...path, i]), `duplicate ${what} "${item}"`, `list each ${what} once`);
    }
  });
}

/** `place.at` is 'key' for a name that is a mapping key (a table name). */
function checkName(
  name: string,
  what: string,
  place: { readonly path: readonly PathSegment[]; readonly at?: 'key' | 'value' },
  { source, diags }: NameReport,
): void {
  const problem = name === '' ? 'is empty' : invisibleCharacterProblem(name);
  if (!problem) return;
  // Found only for a name with a problem: finding a place walks the YAML, and policies hold thousands of names.
  const position = positionOf(source, place.path, place.at ?? 'value');
  // An empty name is also a schema error at the same place: report it once.
  if (!diags.hasErrorAt(position)) diags.error(position, `${what} ${JSON.stringify(name)} ${problem}`);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function toModel(input: PolicyInput, file: string): ComponentPolicy {
  // Maps, not objects: every name the file holds is kept, "__proto__" included.
  const databases: DatabaseAccess[] = [...(input.databases ?? new Map<never, never>())]
    .map(([kind, access]) => ({
      kind,
      schema: access.schema,
      tables: [...access.tables]
        .map(([table, tableAccess]) => ({ table, grants: toVerbGrants(tableAccess) }))
        .sort(byTable),
    }))
    .sort((a, b) => compareText(a.kind, b.kind));
  return { component: input.component, description: input.description, databases, file };
}

function toVerbGrants(access: TableAccessInput): VerbGrant[] {
  const byVerb = new Map<Verb, VerbGrant['columns']>();
  if (Array.isArray(access)) {
    for (const verb of access) byVerb.set(verb, 'all');
  } else {
    for (const verb of VERBS) {
      const columns = access[verb];
      if (columns === undefined) continue;
      byVerb.set(verb, columns === 'all' ? 'all' : [...new Set(columns)].sort(compareText));
    }
  }
  return VERBS.filter((verb) => byVerb.has(verb)).map((verb) => ({
    verb,
    columns: byVerb.get(verb) ?? 'all',
  }));
}

function byTable(a: TableAccess, b: TableAccess): number {
  return compareText(a.table, b.table);
}
