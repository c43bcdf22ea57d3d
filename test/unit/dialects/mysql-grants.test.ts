/** Parsing SHOW GRANTS into effective privileges, and the password hashes: no I/O. */
import { describe, expect, it } from 'vitest';
import {
  cachingSha2PasswordHash,
  mysqlNativePasswordHash,
  sha256CryptDigest,
} from '../../../src/dialects/mysql/password.js';
import {
  effectivePrivilegesFromGrants,
  parseGrantLine,
  schemaPatternMatches,
} from '../../../src/dialects/mysql/privileges.js';

describe('SHOW GRANTS parsing', () => {
  const lines = [
    "GRANT USAGE ON *.* TO `nova_api`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
    'GRANT `nova_api_role` TO `nova_api`@`%`',
    'GRANT USAGE ON *.* TO `nova_api_role`',
    'GRANT SELECT, INSERT, UPDATE (`a`, `b``c`) ON `nova_api`.`x``; DROP TABLE y; --` TO `nova_api_role`',
    'GRANT DELETE ON `nova_api`.`cells` TO `nova_api_role` WITH GRANT OPTION',
    'GRANT SELECT, CREATE TEMPORARY TABLES ON `nova\\_%`.* TO PUBLIC',
    'GRANT RELOAD ON *.* TO `nova_api_role`',
    'GRANT EXECUTE ON PROCEDURE `nova_api`.`p` TO `nova_api_role`',
    'GRANT SELECT ON `other`.`t` TO `nova_api_role`',
    "SET DEFAULT ROLE `nova_api_role` FOR 'nova_api'@'%'",
  ];

  it('reads table and column privileges exactly, including hostile names', () => {
    expect(parseGrantLine(lines[3] ?? '')).toEqual({
      schema: 'nova_api',
      table: 'x`; DROP TABLE y; --',
      privileges: [
        { name: 'select', columns: 'all' },
        { name: 'insert', columns: 'all' },
        { name: 'update', columns: ['a', 'b`c'] },
      ],
    });
    expect(parseGrantLine(lines[1] ?? '')).toBeUndefined();
    expect(parseGrantLine(lines[7] ?? '')).toBeUndefined();
  });

  it('reports what reaches the schemas asked about: tables, database patterns, global privileges', () => {
    const privileges = effectivePrivilegesFromGrants(lines, ['nova_api']);
    expect(privileges).toEqual([
      {
        kind: 'table',
        schema: 'nova_api',
        name: 'x`; DROP TABLE y; --',
        privilege: 'select',
        columns: 'all',
      },
      {
        kind: 'table',
        schema: 'nova_api',
        name: 'x`; DROP TABLE y; --',
        privilege: 'insert',
        columns: 'all',
      },
      {
        kind: 'table',
        schema: 'nova_api',
        name: 'x`; DROP TABLE y; --',
        privilege: 'update',
        columns: ['a', 'b`c'],
      },
      { kind: 'table', schema: 'nova_api', name: 'cells', privilege: 'delete', columns: 'all' },
      { kind: 'table', schema: 'nova_api', name: 'cells', privilege: 'grant option', columns: 'all' },
      { kind: 'schema', schema: 'nova_api', name: 'nova_api', privilege: 'select', columns: 'all' },
      {
        kind: 'schema',
        schema: 'nova_api',
        name: 'nova_api',
        privilege: 'create temporary tables',
        columns: 'all',
      },
      { kind: 'schema', schema: 'nova_api', name: 'nova_api', privilege: 'global reload', columns: 'all' },
    ]);
  });

  it('treats database names in database-level grants as LIKE patterns', () => {
    expect(schemaPatternMatches('nova\\_api', 'nova_api')).toBe(true);
    expect(schemaPatternMatches('nova\\_api', 'novaXapi')).toBe(false);
    expect(schemaPatternMatches('nova_api', 'novaXapi')).toBe(true);
    expect(schemaPatternMatches('nova%', 'nova_cell1')).toBe(true);
    expect(schemaPatternMatches('a.b', 'aXb')).toBe(false);
  });
});

describe('password hashes', () => {
  it('mysql_native_password is * and the hex of SHA1(SHA1(password))', () => {
    expect(mysqlNativePasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  });

  it("SHA-256 crypt matches the reference implementation's test vectors", () => {
    // Values from glibc's crypt() ($5$), which caps salts at 16 characters.
    expect(sha256CryptDigest(Buffer.from('Hello world!'), Buffer.from('saltstring'), 5000)).toBe(
      '5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5',
    );
    expect(sha256CryptDigest(Buffer.from('Hello world!'), Buffer.from('saltstringsaltst'), 10000)).toBe(
      '3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
    );
    expect(sha256CryptDigest(Buffer.from('This is just a test'), Buffer.from('toolongsaltstrin'), 5000)).toBe(
      'Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5',
    );
  });

  it('caching_sha2_password hashes are $A$005$, a 20-character salt and 43 characters, salted afresh', () => {
    const hash = cachingSha2PasswordHash('pw', 'abcdefghijABCDEFGHIJ');
    expect(hash).toMatch(/^\$A\$005\$abcdefghijABCDEFGHIJ[./0-9A-Za-z]{43}$/);
    expect(hash.slice(27)).toBe(
      sha256CryptDigest(Buffer.from('pw'), Buffer.from('abcdefghijABCDEFGHIJ'), 5000),
    );
    expect(cachingSha2PasswordHash('pw')).not.toBe(cachingSha2PasswordHash('pw'));
    expect(cachingSha2PasswordHash('pw')).not.toContain('pw$');
  });
});
