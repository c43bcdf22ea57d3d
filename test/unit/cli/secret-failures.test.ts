/** verify --secrets output for people: failures summarized per column and problem, and one verdict. */
import { describe, expect, it } from 'vitest';
import type { VerifyResult } from '../../../src/runner/verify.js';
import {
  groupSecretFailures,
  secretFailureLines,
  verifySecretsJson,
  verifyWithSecretsText,
} from '../../../src/cli/secret-failures.js';
import type { SecretFailure } from '../../../src/secrets/store/index.js';

const privilegesOk: VerifyResult = {
  app: 'shop',
  ok: true,
  components: [
    {
      component: 'api',
      login: 'shop_api',
      targets: [{ target: 'main1', differences: [], error: undefined }],
      unexpectedLogin: [],
      ok: true,
    },
    { component: 'worker', login: 'shop_worker', targets: [], unexpectedLogin: [], ok: true },
  ],
};

const privilegesDiffer: VerifyResult = {
  ...privilegesOk,
  ok: false,
  components: [
    {
      component: 'api',
      login: 'shop_api',
      targets: [
        {
          target: 'main1',
          differences: [
            {
              problem: 'extra',
              kind: 'table',
              schema: 'public',
              name: 'users',
              privilege: 'delete',
              columns: 'all',
            },
          ],
          error: undefined,
        },
      ],
      unexpectedLogin: [],
      ok: false,
    },
    privilegesOk.components[1] as VerifyResult['components'][number],
  ],
};

/** What verify reports for a table of plaintext: every row, both columns. */
function plaintextFailures(rows: number, table = 'users'): SecretFailure[] {
  return Array.from({ length: rows }, (_, i) => i + 1).flatMap((id) =>
    ['access_key', 'secret_key'].map((column) => ({
      target: 'main1',
      table,
      column,
      primaryKey: String(id),
      problem: 'not-encrypted' as const,
      message: `${table}.${column}, primary key ${id}: holds plaintext: run \`dbwarden upgrade\` to encrypt it`,
    })),
  );
}

describe('verify --secrets failures, summarized', () => {
  it('groups by target, table, column and problem, with the count and the first five row ids', () => {
    const groups = groupSecretFailures(plaintextFailures(1000));
    expect(groups).toEqual([
      {
        target: 'main1',
        table: 'users',
        column: 'access_key',
        problem: 'not-encrypted',
        count: 1000,
        primaryKeys: ['1', '2', '3', '4', '5'],
        firstMessage: expect.stringMatching(/^users\.access_key, primary key 1: holds plaintext/),
      },
      {
        target: 'main1',
        table: 'users',
        column: 'secret_key',
        problem: 'not-encrypted',
        count: 1000,
        primaryKeys: ['1', '2', '3', '4', '5'],
        firstMessage: expect.stringMatching(/^users\.secret_key, primary key 1: holds plaintext/),
      },
    ]);
  });

  it('prints 2,000 failing values in two lines each, not one line per value', () => {
    const lines = secretFailureLines(groupSecretFailures(plaintextFailures(1000)));
    expect(lines).toEqual([
      'FAIL  secret main1: users.access_key: 1,000 values not-encrypted, rows 1, 2, 3, 4, 5 and 995 more',
      '        first: users.access_key, primary key 1: holds plaintext: run `dbwarden upgrade` to encrypt it',
      'FAIL  secret main1: users.secret_key: 1,000 values not-encrypted, rows 1, 2, 3, 4, 5 and 995 more',
      '        first: users.secret_key, primary key 1: holds plaintext: run `dbwarden upgrade` to encrypt it',
    ]);
  });

  it('a single failing value keeps its own line', () => {
    const [failure] = plaintextFailures(1);
    const wrongPlace = {
      ...(failure as SecretFailure),
      problem: 'wrong-place' as const,
      message: 'copied from row 1',
    };
    expect(secretFailureLines(groupSecretFailures([wrongPlace]))).toEqual([
      'FAIL  secret main1: users.access_key row 1: wrong-place: copied from row 1',
    ]);
  });

  it('the verdict says FAILED with the counts when stored values fail, and nothing says ok', () => {
    const text = verifyWithSecretsText(privilegesOk, plaintextFailures(1000), undefined);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('Verify:'))).toEqual([
      'Verify: FAILED: privileges of 2 components equal their policies; 2,000 stored values in 1 table fail the check (2,000 not-encrypted) (exit 3).',
    ]);
    expect(lines.at(-1)).toBe('  "dbwarden verify --secrets --format json" lists every failing value.');
    expect(lines[0]).toBe('ok    api on main1: privileges equal the policy');
    expect(text).not.toContain('Verify: ok');
    expect(lines.length).toBeLessThanOrEqual(10);
  });

  it('privileges and stored values both failing: one verdict naming both, with both hints', () => {
    const failures = [...plaintextFailures(2), ...plaintextFailures(3, 'keys')];
    const lines = verifyWithSecretsText(privilegesDiffer, failures, undefined).trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('Verify:'))).toEqual([
      'Verify: FAILED: 1 of 2 components differs from its policy; 10 stored values in 2 tables fail the check (10 not-encrypted) (exit 3).',
    ]);
    expect(lines.at(-1)).toMatch(/^ {2}"dbwarden plan" shows what apply would fix/);
  });

  it('privileges failing with every stored value fine: FAILED, and the secrets line says ok', () => {
    const text = verifyWithSecretsText(privilegesDiffer, [], 50);
    expect(text).toContain('ok    secrets: every stored value decrypts where it is\n');
    expect(text).toContain(
      '\nVerify: FAILED: 1 of 2 components differs from its policy; every sampled value (50 rows per table) decrypts where it is (exit 3).\n',
    );
  });

  it('all fine: one ok verdict', () => {
    const text = verifyWithSecretsText(privilegesOk, [], undefined);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'Verify: ok, 2 components checked; every stored value decrypts where it is.',
    );
    expect(text.match(/^Verify:/gm)).toHaveLength(1);
  });

  it('json keeps every failure and adds their count and groups', () => {
    const failures = plaintextFailures(7);
    const doc = verifySecretsJson(failures);
    expect(doc.ok).toBe(false);
    expect(doc.failures).toEqual(failures);
    expect(doc.failureCount).toBe(14);
    expect(doc.groups).toEqual([
      {
        target: 'main1',
        table: 'users',
        column: 'access_key',
        problem: 'not-encrypted',
        count: 7,
        primaryKeys: ['1', '2', '3', '4', '5'],
      },
      {
        target: 'main1',
        table: 'users',
        column: 'secret_key',
        problem: 'not-encrypted',
        count: 7,
        primaryKeys: ['1', '2', '3', '4', '5'],
      },
    ]);
    expect(verifySecretsJson([])).toEqual({ ok: true, failureCount: 0, groups: [], failures: [] });
  });
});
