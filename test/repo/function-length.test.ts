/**
 * Small functions (issue 16, point 5; docs/design.md's standards): no function in src/ is longer
 * than 60 lines, and none takes five or more positional parameters. The functions that still do
 * are listed below with their size today: each may only shrink, and leaves the list once it
 * complies, so no new long function or long parameter list can appear. The lists are the to-do
 * list for the rest of issue 16. `npx tsx test/repo/function-length.ts` prints the long ones.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FunctionLength, measureSource, measureTree } from './function-length.js';

const MAX_LINES = 60;
const MAX_PARAMETERS = 4;

/** Functions over MAX_LINES lines today, with their length: they may only shrink. */
const LONG_FUNCTIONS: readonly { file: string; name: string; lines: number }[] = [];

/** Functions with more than MAX_PARAMETERS positional parameters today: they may only lose some. */
const LONG_PARAMETER_LISTS: readonly { file: string; name: string; parameters: number }[] = [
  { file: 'src/dialects/mysql/introspect.ts', name: 'introspectTarget', parameters: 5 },
  { file: 'src/dialects/mysql/introspect.ts', name: 'toRoleState', parameters: 5 },
  { file: 'src/dialects/mysql/secrets.ts', name: 'valuesNotFitting', parameters: 6 },
  { file: 'src/dialects/postgres/secrets.ts', name: 'valuesNotFitting', parameters: 6 },
  { file: 'src/dialects/store-sql.ts', name: 'selectBatch', parameters: 6 },
  { file: 'src/dialects/store-sql.ts', name: 'selectAll', parameters: 5 },
  { file: 'src/dialects/store-sql.ts', name: 'selectSample', parameters: 5 },
  { file: 'src/plan/plan.ts', name: 'planCluster', parameters: 5 },
  { file: 'src/plan/plan.ts', name: 'planRoles', parameters: 5 },
  { file: 'src/plan/plan.ts', name: 'planMemberships', parameters: 5 },
  { file: 'src/secrets/store/index.ts', name: 'downgradeSecrets', parameters: 5 },
];

const root = path.resolve(import.meta.dirname, '../..');
const key = (f: { file: string; name: string }) => `${f.file}: ${f.name}`;

/**
 * What breaks the rule: every measured function over `limit` that the allow-list does not hold
 * at that size or more, and every allow-list entry that now complies or is gone (delete it).
 */
function violations(
  measured: readonly FunctionLength[],
  rule: { size: (f: FunctionLength) => number; limit: number },
  allowed: ReadonlyMap<string, number>,
): string[] {
  const problems: string[] = [];
  const over = new Map<string, number>();
  for (const f of measured.filter((f) => rule.size(f) > rule.limit)) {
    over.set(key(f), Math.max(rule.size(f), over.get(key(f)) ?? 0));
  }
  for (const [name, size] of over) {
    const allowedSize = allowed.get(name);
    if (allowedSize === undefined) problems.push(`${name}: ${size} (limit ${rule.limit}): split it`);
    else if (size > allowedSize)
      problems.push(`${name}: grew to ${size} (allowed ${allowedSize} only while it shrinks)`);
  }
  for (const name of allowed.keys()) {
    if (!over.has(name)) problems.push(`${name}: complies or is gone; delete its allow-list entry`);
  }
  return problems;
}

describe('function size in src/', () => {
  const measured = measureTree(root, 'src');

  it('measures the functions of src/ (declarations, methods, arrows, function expressions)', () => {
    // The rules below only mean something if the walk saw src/: its known functions at their sizes.
    expect(measured.length).toBeGreaterThan(1000);
    const names = new Set(measured.map(key));
    expect(names).toContain('src/cli/main.ts: main');
    expect(names).toContain('src/credentials/credential-file.ts: JsonScanner.string');
    expect(names).toContain('src/plan/simulate.ts: applyOne');
    for (const f of LONG_FUNCTIONS) expect(names, key(f)).toContain(key(f));
  });

  it(`has no function over ${MAX_LINES} lines outside the allow-list, and none grows`, () => {
    const allowed = new Map(LONG_FUNCTIONS.map((f) => [key(f), f.lines]));
    expect(violations(measured, { size: (f) => f.lines, limit: MAX_LINES }, allowed)).toEqual([]);
  });

  it(`has no function with more than ${MAX_PARAMETERS} positional parameters outside the allow-list`, () => {
    const allowed = new Map(LONG_PARAMETER_LISTS.map((f) => [key(f), f.parameters]));
    expect(violations(measured, { size: (f) => f.parameters, limit: MAX_PARAMETERS }, allowed)).toEqual([]);
  });
});

describe('measureSource', () => {
  const body = (n: number) => Array.from({ length: n - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  const source = [
    `export function long(a: number, b: number, c: number, d: number, e: number) {\n${body(61)}\n}`,
    `class Box {\n  open({ a, b }: { a: number; b: number }) {\n${body(3)}\n  }\n}`,
    `const arrow = () => {\n  return [1].map((x) => x);\n};`,
  ].join('\n');
  const found = measureSource('src/example.ts', source);

  it('counts lines from the first token to the last, and positional parameters', () => {
    expect(found).toContainEqual({ file: 'src/example.ts', name: 'long', line: 1, lines: 61, parameters: 5 });
    expect(found).toContainEqual({
      file: 'src/example.ts',
      name: 'Box.open',
      line: 63,
      lines: 3,
      parameters: 1,
    });
  });

  it('names arrows by their variable and unnamed functions by where they are', () => {
    expect(found.map((f) => f.name)).toEqual(['long', 'Box.open', 'arrow', 'arrow/<anonymous #1>']);
  });

  it('flags what the rules reject and accepts what the allow-list holds', () => {
    const rule = { size: (f: FunctionLength) => f.lines, limit: 60 };
    expect(violations(found, rule, new Map())).toEqual(['src/example.ts: long: 61 (limit 60): split it']);
    expect(violations(found, rule, new Map([['src/example.ts: long', 61]]))).toEqual([]);
    expect(violations(found, rule, new Map([['src/example.ts: long', 60]]))).toHaveLength(1);
    expect(violations([], rule, new Map([['src/example.ts: long', 61]]))).toEqual([
      'src/example.ts: long: complies or is gone; delete its allow-list entry',
    ]);
  });
});
