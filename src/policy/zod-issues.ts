/**
 * Turns zod issues into diagnostics that name the place in the YAML file and
 * say what is allowed, with a did-you-mean for misspelt keys and words.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import type { DiagnosticList, SourcePosition } from './diagnostics.js';
import { type PathSegment, positionOf, type YamlSource } from './yaml-source.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

export function reportZodIssues(
  issues: readonly Issue[],
  schema: AnySchema,
  source: YamlSource,
  diags: DiagnosticList,
): void {
  const report = { rootSchema: schema, source, diags };
  for (const issue of issues) reportIssue(issue, [], report);
}

/** What every issue is reported against: the whole schema (for key suggestions), the file, the list. */
interface IssueReport {
  readonly rootSchema: AnySchema;
  readonly source: YamlSource;
  readonly diags: DiagnosticList;
}

/** Where an issue is shown: its path in the file, and whether at the mapping key or its value. */
interface IssueAt {
  readonly path: readonly PathSegment[];
  /** 'key' for issues of a mapping key (a record key that fails its pattern). */
  readonly at: 'key' | 'value';
}

function reportIssue(
  issue: Issue,
  prefix: readonly PathSegment[],
  report: IssueReport,
  at: 'key' | 'value' = 'value',
): void {
  const where: IssueAt = { path: [...prefix, ...(issue.path as PathSegment[])], at };
  // Not every issue is shown at its own path: the position only where it is.
  const here = () => positionOf(report.source, where.path, at);
  switch (issue.code) {
    case 'unrecognized_keys':
      return reportUnknownKeys(issue, where.path, report);
    case 'invalid_union':
      return reportUnion(issue, where, report);
    case 'invalid_key':
      for (const inner of issue.issues) reportIssue(inner, where.path, report, 'key');
      return;
    case 'invalid_value':
      return reportInvalidValue(issue, here(), report.diags);
    case 'invalid_type':
      return reportInvalidType(issue, where, report);
    case 'invalid_format': {
      // Only name and id fields carry formats; their values are not secret.
      const shown = typeof issue.input === 'string' ? ` "${issue.input}"` : '';
      report.diags.error(here(), `invalid value${shown}: ${issue.message}`);
      return;
    }
    case 'too_big':
      report.diags.error(here(), `too long: at most ${String(issue.maximum)} characters`);
      return;
    default:
      report.diags.error(here(), issue.message);
  }
}

/** One error per unknown key, at the key, with the closest allowed key. */
function reportUnknownKeys(
  issue: z.core.$ZodIssueUnrecognizedKeys,
  path: readonly PathSegment[],
  { rootSchema, source, diags }: IssueReport,
): void {
  const allowed = knownKeysAt(rootSchema, path);
  // In the column form the keys are verbs: say so, as the list form does.
  const word = wordFor(allowed) === 'verb' ? 'verb' : 'key';
  for (const key of issue.keys) {
    diags.error(
      positionOf(source, [...path, key], 'key'),
      `unknown ${word} "${key}"`,
      suggestion(key, allowed),
    );
  }
}

/** The issues of the branch the author evidently meant, else what each branch would have taken. */
function reportUnion(issue: z.core.$ZodIssueInvalidUnion, { path, at }: IssueAt, report: IssueReport): void {
  const branch = closestBranch(issue);
  if (branch) {
    for (const inner of branch) reportIssue(inner, path, report);
  } else {
    report.diags.error(
      positionOf(report.source, path, at),
      `expected ${describeUnion(issue)}, found ${describeValue(issue.input)}`,
    );
  }
}

function reportInvalidValue(
  issue: z.core.$ZodIssueInvalidValue,
  position: SourcePosition,
  diags: DiagnosticList,
): void {
  const allowed = issue.values.map(String);
  if (allowed.length === 1) {
    // Single literals carry a message of their own in the schema (`delete: all`).
    diags.error(position, issue.message);
  } else if (typeof issue.input === 'string') {
    diags.error(position, `unknown ${wordFor(allowed)} "${issue.input}"`, suggestion(issue.input, allowed));
  } else {
    diags.error(
      position,
      `expected a ${wordFor(allowed)}, found ${describeValue(issue.input)}`,
      `allowed: ${allowed.join(', ')}`,
    );
  }
}

/** A missing key is reported at its mapping ("missing required key"); a wrong type at the value. */
function reportInvalidType(
  issue: z.core.$ZodIssueInvalidType,
  { path, at }: IssueAt,
  { source, diags }: IssueReport,
): void {
  const missing = issue.input === undefined;
  const last = path[path.length - 1];
  if (missing && last !== undefined) {
    diags.error(positionOf(source, path.slice(0, -1)), `missing required key "${String(last)}"`);
  } else {
    diags.error(
      positionOf(source, path, at),
      `expected ${describeExpected(issue.expected)}, found ${describeValue(issue.input)}`,
    );
  }
}

/**
 * Of a union's failed branches, the one the author evidently meant: the one
 * whose failure is not simply "wrong type here". None when every branch failed
 * on type (the value is of no expected shape at all).
 */
function closestBranch(issue: z.core.$ZodIssueInvalidUnion): readonly Issue[] | undefined {
  const meant = issue.errors.filter((branch) => !branch.every(isShapeMismatch));
  return meant.length === 1 ? meant[0] : undefined;
}

/** The value itself is of another type, or another literal: the branch was not what the author meant. */
function isShapeMismatch(issue: Issue): boolean {
  return issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
}

/** `a list or "all"`: what each branch of a union would have taken. */
function describeUnion(issue: z.core.$ZodIssueInvalidUnion): string {
  const expected = issue.errors.flatMap((branch) =>
    branch.filter(isShapeMismatch).flatMap((i) => {
      if (i.code === 'invalid_type') return [describeExpected(i.expected)];
      if (i.code === 'invalid_value') return i.values.map((v) => JSON.stringify(v));
      return [];
    }),
  );
  return [...new Set(expected)].join(' or ');
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'array':
    case 'tuple':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'number':
    case 'int':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function wordFor(allowed: readonly string[]): string {
  return allowed.includes('select') && allowed.includes('delete') ? 'verb' : 'value';
}

/** `did you mean "x"? allowed: a, b, c` — the suggestion only when it is close. */
export function suggestion(word: string, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  const best = closest(word, [...allowed]);
  const close = distance(word, best) <= Math.max(2, Math.floor(best.length / 3));
  const list = `allowed: ${allowed.join(', ')}`;
  return close ? `did you mean "${best}"? ${list}` : list;
}

/** The keys an object schema at `path` accepts (for suggestions). */
function knownKeysAt(schema: AnySchema, path: readonly PathSegment[]): string[] {
  const candidates = objectSchemasAt(schema, path);
  return [...new Set(candidates.flatMap((s) => Object.keys(s._zod.def.shape)))];
}

function objectSchemasAt(schema: AnySchema, path: readonly PathSegment[]): z.core.$ZodObject[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return objectSchemasAt(def.innerType as AnySchema, path);
    case 'union':
      return (def.options as AnySchema[]).flatMap((option) => objectSchemasAt(option, path));
    case 'object': {
      if (path.length === 0) return [schema as z.core.$ZodObject];
      const child = (def.shape as Record<string, AnySchema>)[String(path[0])];
      return child ? objectSchemasAt(child, path.slice(1)) : [];
    }
    case 'pipe':
      // A user-keyed map: the preprocess step, then the Map schema.
      return objectSchemasAt(def.out as AnySchema, path);
    case 'record':
    case 'map':
      return path.length === 0 ? [] : objectSchemasAt(def.valueType as AnySchema, path.slice(1));
    case 'array':
      return path.length === 0 ? [] : objectSchemasAt(def.element as AnySchema, path.slice(1));
    default:
      return [];
  }
}
