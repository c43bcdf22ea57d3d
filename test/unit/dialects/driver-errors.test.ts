/**
 * Driver errors as DatabaseErrors (issue 16, point 6): target, action and the
 * server's codes as fields, a cause that is never the driver's error, and
 * nothing of a statement, a value, a hash or a URL in message or cause.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseError, DriverError } from '../../../src/errors.js';
import {
  databaseError as postgresError,
  sanitizePostgresMessage,
} from '../../../src/dialects/postgres/errors.js';
import { databaseError as mysqlError, sanitizeMysqlMessage } from '../../../src/dialects/mysql/errors.js';
import { mysqlSecrets } from '../../../src/dialects/mysql/secrets.js';
import { postgresSecrets } from '../../../src/dialects/postgres/secrets.js';

const SECRET = 'Tr0ub4dor-and-3';

/** A driver error as node-postgres and mysql2 make them: message, codes, and the statement it ran. */
function driverError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

/** Everything a caller can see of the error, as text. */
function visible(error: DatabaseError): string {
  return JSON.stringify({ message: error.message, cause: error.cause?.message, details: error.details() });
}

describe('sanitizePostgresMessage', () => {
  it.each([
    [`syntax error at or near "'${SECRET}'"`, 'syntax error at or near <token not shown>'],
    [
      `unterminated quoted string at or near "'${SECRET}"`,
      'unterminated quoted string at or near <token not shown>',
    ],
    [
      `invalid input syntax for type integer: "${SECRET}"`,
      'invalid input syntax for type integer: <value not shown>',
    ],
    [
      `value "${SECRET}" is out of range for type integer`,
      'value <not shown> is out of range for type integer',
    ],
    [`role has verifier SCRAM-SHA-256$4096:abc$def:ghi`, 'role has verifier <redacted>'],
    [`could not connect to postgresql://admin:${SECRET}@db:5432/app`, 'could not connect to <URL not shown>'],
  ])('%s', (raw, shown) => {
    expect(sanitizePostgresMessage(raw)).toBe(shown);
  });

  it('keeps messages that quote only names', () => {
    expect(sanitizePostgresMessage('role "nova_api" already exists')).toBe('role "nova_api" already exists');
  });
});

describe('sanitizeMysqlMessage', () => {
  it.each([
    [
      `You have an error in your SQL syntax; check the manual near 'IDENTIFIED BY '${SECRET}'' at line 1`,
      "You have an error in your SQL syntax; check the manual near '<statement not shown>'",
    ],
    [
      `Duplicate entry '${SECRET}' for key 'PRIMARY'`,
      "Duplicate entry '<value not shown>' for key 'PRIMARY'",
    ],
    [
      `Incorrect integer value: '${SECRET}' for column 'n'`,
      "Incorrect integer value: '<value not shown>' for column 'n'",
    ],
    ['hash *0123456789ABCDEF0123456789ABCDEF01234567 here', 'hash <redacted> here'],
    [`mysql://admin:${SECRET}@db/nova is unreachable`, '<URL not shown> is unreachable'],
  ])('%s', (raw, shown) => {
    expect(sanitizeMysqlMessage(raw)).toBe(shown);
  });
});

describe('PostgreSQL databaseError', () => {
  const raw = driverError(`syntax error at or near "'${SECRET}'"`, {
    code: '42601',
    detail: `Key (password)=(${SECRET})`,
    where: `SQL statement "ALTER ROLE x PASSWORD '${SECRET}'"`,
  });

  it('names the target, the action and the SQLSTATE as fields and in the message', () => {
    const error = postgresError(raw, { target: 'main', action: 'create login nova_api' }, 'a hint');
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toBe(
      'target main: could not create login nova_api: syntax error at or near <token not shown> (SQLSTATE 42601)',
    );
    expect(error.details()).toEqual({
      target: 'main',
      action: 'create login nova_api',
      code: '42601',
      sqlState: '42601',
    });
    expect(error.hint).toBe('a hint');
    expect(error.exitCode).toBe(1);
  });

  it('keeps a sanitized cause, never the driver error with its detail and statement', () => {
    const error = postgresError(raw, { target: 'main', action: 'connect' });
    expect(error.cause).toBeInstanceOf(DriverError);
    expect(error.cause).not.toBe(raw);
    expect(error.cause?.sqlState).toBe('42601');
    expect(visible(error)).toContain('<token not shown>');
    expect(visible(error)).not.toContain(SECRET);
    expect(Object.values(error.cause ?? {}).join(' ')).not.toContain(SECRET);
  });

  it('reads target and action back from a "target X: could not Y" context', () => {
    const error = postgresError(
      driverError('connection refused', { code: 'ECONNREFUSED' }),
      'target cell1: could not take the lock',
    );
    expect(error.details()).toEqual({ target: 'cell1', action: 'take the lock', code: 'ECONNREFUSED' });
    expect(error.message).toBe('target cell1: could not take the lock: connection refused');
  });

  it('keeps every field when apply adds its hint', () => {
    const error = postgresError(raw, { target: 'main', action: 'connect' }).withHint('rerun');
    expect(error.hint).toBe('rerun');
    expect(error.details()).toEqual({ target: 'main', action: 'connect', code: '42601', sqlState: '42601' });
    expect(error.cause).toBeInstanceOf(DriverError);
  });
});

describe('MySQL databaseError', () => {
  it('names target, action, code, errno and SQLSTATE; the statement mysql2 keeps is dropped', () => {
    const raw = driverError(`Duplicate entry '${SECRET}' for key 'PRIMARY'`, {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
      sql: `INSERT INTO t VALUES ('${SECRET}')`,
    });
    const error = mysqlError(raw, { target: 'cell', action: 'write the secret' });
    expect(error.message).toBe(
      "target cell: could not write the secret: Duplicate entry '<value not shown>' for key 'PRIMARY' (ER_DUP_ENTRY 1062)",
    );
    expect(error.details()).toEqual({
      target: 'cell',
      action: 'write the secret',
      code: 'ER_DUP_ENTRY',
      sqlState: '23000',
      errno: 1062,
    });
    expect(error.cause?.errno).toBe(1062);
    expect(visible(error)).not.toContain(SECRET);
    expect(Object.values(error.cause ?? {}).join(' ')).not.toContain(SECRET);
  });
});

describe("the encrypted store's errors", () => {
  it('on MySQL keep the typed fields and the sanitized cause, as the session errors do', () => {
    const raw = driverError(`Duplicate entry '${SECRET}' for key 'users_access_bidx'`, {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
      sql: `UPDATE users SET access_key = '${SECRET}'`,
    });
    const error = mysqlSecrets.databaseError(raw, 'target cell: could not encrypt the values');
    expect(error.message).toBe(
      "target cell: could not encrypt the values: Duplicate entry '<value not shown>' for key 'users_access_bidx' (ER_DUP_ENTRY 1062)",
    );
    expect(error.details()).toEqual({
      target: 'cell',
      action: 'encrypt the values',
      code: 'ER_DUP_ENTRY',
      sqlState: '23000',
      errno: 1062,
    });
    expect(error.cause).toBeInstanceOf(DriverError);
    expect(visible(error)).not.toContain(SECRET);
  });

  it('on PostgreSQL keep them too', () => {
    const raw = driverError('permission denied for table users', { code: '42501' });
    const error = postgresSecrets.databaseError(raw, 'target main: could not read the rows');
    expect(error.details()).toEqual({
      target: 'main',
      action: 'read the rows',
      code: '42501',
      sqlState: '42501',
    });
    expect(error.cause).toBeInstanceOf(DriverError);
  });
});
