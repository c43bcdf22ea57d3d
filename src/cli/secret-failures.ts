/**
 * `verify --secrets` failures for people: one line per target, table, column
 * and problem with the count and the first few row ids, however many rows
 * fail (a table of plaintext has as many failures as values). Pure.
 */
import type { VerifyResult } from '../runner/verify.js';
import type { SecretFailure, SecretFailureProblem } from '../secrets/store/index.js';
import { PRIVILEGES_HINT, privilegesDifferPhrase, verifyText } from './database-commands.js';
import { plural } from './output.js';

/** The line verify --secrets prints when every value checked is fine. */
export const SECRETS_OK = 'ok    secrets: every stored value decrypts where it is\n';

/** Row ids shown per group; --format json lists every failure. */
export const ROW_IDS_SHOWN = 5;

export interface SecretFailureGroup {
  readonly target: string;
  readonly table: string;
  readonly column: string;
  readonly problem: SecretFailureProblem;
  readonly count: number;
  /** The first ROW_IDS_SHOWN row ids, in the order the failures came (row order). */
  readonly primaryKeys: readonly string[];
  /** The first failure's message: names its place and what to do, never a value. */
  readonly firstMessage: string;
}

/** Failures grouped by target, table, column and problem, in order of first appearance. */
export function groupSecretFailures(failures: readonly SecretFailure[]): SecretFailureGroup[] {
  const groups = new Map<string, { first: SecretFailure; n: number; primaryKeys: string[] }>();
  for (const f of failures) {
    const key = JSON.stringify([f.target, f.table, f.column, f.problem]);
    const entry = groups.get(key) ?? { first: f, n: 0, primaryKeys: [] };
    groups.set(key, entry);
    entry.n++;
    if (entry.primaryKeys.length < ROW_IDS_SHOWN) entry.primaryKeys.push(f.primaryKey);
  }
  return [...groups.values()].map(({ first, n, primaryKeys }) => ({
    target: first.target,
    table: first.table,
    column: first.column,
    problem: first.problem,
    count: n,
    primaryKeys,
    firstMessage: first.message,
  }));
}

/** `2,000 values`: counts of rows read well with thousands separators. */
export function count(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * One `FAIL  secret` line per group: a single failure as the row's own line, a
 * larger group as its count, first row ids, and the first failure's message.
 */
export function secretFailureLines(groups: readonly SecretFailureGroup[]): string[] {
  return groups.flatMap((g) => {
    const place = `FAIL  secret ${g.target}: ${g.table}.${g.column}`;
    if (g.count === 1) return [`${place} row ${g.primaryKeys[0] ?? ''}: ${g.problem}: ${g.firstMessage}`];
    const more = g.count - g.primaryKeys.length;
    const rows = `${g.primaryKeys.join(', ')}${more > 0 ? ` and ${more.toLocaleString('en-US')} more` : ''}`;
    return [
      `${place}: ${count(g.count, 'value')} ${g.problem}, rows ${rows}`,
      `        first: ${g.firstMessage}`,
    ];
  });
}

/** `2,000 stored values in 1 table fail the check (2,000 not-encrypted)`, for the verdict line. */
export function secretFailuresPhrase(groups: readonly SecretFailureGroup[]): string {
  const total = groups.reduce((n, g) => n + g.count, 0);
  const tables = new Set(groups.map((g) => JSON.stringify([g.target, g.table]))).size;
  const byProblem = new Map<SecretFailureProblem, number>();
  for (const g of groups) byProblem.set(g.problem, (byProblem.get(g.problem) ?? 0) + g.count);
  const problems = [...byProblem].map(([problem, n]) => `${n.toLocaleString('en-US')} ${problem}`).join(', ');
  return `${count(total, 'stored value')} in ${count(tables, 'table')} ${total === 1 ? 'fails' : 'fail'} the check (${problems})`;
}

/** `secrets` of `verify --secrets --format json`: every failure (as before), and their count and groups. */
export function verifySecretsJson(failures: readonly SecretFailure[]) {
  const groups = groupSecretFailures(failures).map((g) => ({
    target: g.target,
    table: g.table,
    column: g.column,
    problem: g.problem,
    count: g.count,
    primaryKeys: g.primaryKeys,
  }));
  return { ok: failures.length === 0, failureCount: failures.length, groups, failures };
}

/** Privileges per component, failing stored values summarized, and one verdict that matches the exit code. */
export function verifyWithSecretsText(
  privileges: VerifyResult,
  failures: readonly SecretFailure[],
  sample: number | undefined,
): string {
  const groups = groupSecretFailures(failures);
  const differ = privilegesDifferPhrase(privileges);
  const components = plural(privileges.components.length, 'component');
  const checked =
    sample === undefined ? 'every stored value' : `every sampled value (${count(sample, 'row')} per table)`;
  let verdict: string[];
  if (differ === undefined && failures.length === 0) {
    verdict = [`Verify: ok, ${components} checked; ${checked} decrypts where it is.`];
  } else {
    const privilegesPart = differ ?? `privileges of ${components} equal their policies`;
    const secretsPart =
      failures.length === 0 ? `${checked} decrypts where it is` : secretFailuresPhrase(groups);
    verdict = [`Verify: FAILED: ${privilegesPart}; ${secretsPart} (exit 3).`];
    if (differ !== undefined) verdict.push(`  ${PRIVILEGES_HINT}`);
    if (groups.some((g) => g.count > ROW_IDS_SHOWN))
      verdict.push('  "dbwarden verify --secrets --format json" lists every failing value.');
  }
  const secrets = failures.length === 0 ? SECRETS_OK : `${secretFailureLines(groups).join('\n')}\n`;
  return `${verifyText(privileges, { verdict: false })}${secrets}\n${verdict.join('\n')}\n`;
}
