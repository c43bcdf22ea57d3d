/**
 * Against the shared PostgreSQL server: a verifier from scramSha256Verifier is
 * stored as-is and accepts the password through a login URL built by
 * loginUrl; a verifier that PostgreSQL computes itself is recognised by
 * scramVerifierMatches.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loginUrl } from '../../../src/credentials/login-url.js';
import { generatePassword } from '../../../src/credentials/password.js';
import { scramSha256Verifier, scramVerifierMatches } from '../../../src/dialects/postgres/scram.js';
import { dropRolesWithPrefix, uniqueName, withClient } from '../../harness/databases.js';

const adminUrl = inject('pgAdminUrl');
const prefix = uniqueName('dbw_cred');

afterAll(async () => {
  await dropRolesWithPrefix(adminUrl, prefix);
});

const storedVerifier = (role: string) =>
  withClient(adminUrl, async (c) => {
    const r = await c.query<{ rolpassword: string | null }>(
      'select rolpassword from pg_authid where rolname = $1',
      [role],
    );
    return r.rows[0]?.rolpassword;
  });

describe('SCRAM verifiers on PostgreSQL', () => {
  it('stores our verifier unchanged and accepts the password through the login URL', async () => {
    const role = `${prefix}_a`;
    const password = generatePassword();
    const verifier = scramSha256Verifier(password);
    await withClient(adminUrl, (c) =>
      c.query(`create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(verifier)}`),
    );
    expect(await storedVerifier(role)).toBe(verifier);

    const url = loginUrl(adminUrl, role, password);
    const who = await withClient(
      url,
      async (c) => (await c.query<{ u: string }>('select current_user as u')).rows,
    );
    expect(who).toEqual([{ u: role }]);

    const wrong = new pg.Client({ connectionString: loginUrl(adminUrl, role, generatePassword()) });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    await wrong.end().catch(() => undefined);
  });

  it('recognises the verifier PostgreSQL computes from a password', async () => {
    const role = `${prefix}_b`;
    const password = generatePassword();
    await withClient(adminUrl, async (c) => {
      await c.query("set password_encryption = 'scram-sha-256'");
      await c.query(`create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(password)}`);
    });
    const stored = await storedVerifier(role);
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(scramVerifierMatches(password, stored ?? '')).toBe(true);
    expect(scramVerifierMatches(generatePassword(), stored ?? '')).toBe(false);
  });
});
