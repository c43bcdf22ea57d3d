/** Which targets share roles when a server cannot tell its system identifier (issue 16, point 7). */
import { describe, expect, it } from 'vitest';
import { clusterId } from '../../../src/dialects/postgres/session.js';
import { refuseUnknownServers } from '../../../src/runner/targets.js';
import { InvalidInputError } from '../../../src/errors.js';

describe('PostgreSQL clusterId', () => {
  it('prefers the system identifier', () => {
    expect(clusterId({ system_id: '7321', started: '2026-01-02T03:04:05.123456Z', port: '5432' })).toBe(
      'postgres:7321',
    );
  });

  it('falls back to the start time and port the server reports, never the URL', () => {
    const a = clusterId({ system_id: null, started: '2026-01-02T03:04:05.123456Z', port: '5432' });
    const b = clusterId({ system_id: null, started: '2026-01-02T03:04:05.123457Z', port: '5432' });
    expect(a).toBe('postgres:started-2026-01-02T03:04:05.123456Z-port-5432');
    expect(a).not.toBe(b);
  });

  it('is unknown when neither can be read', () => {
    expect(clusterId({ system_id: null, started: null, port: '5432' })).toBe('postgres:unknown');
  });
});

const target = (name: string, engine: 'postgres' | 'mysql', cluster: string) => ({
  target: { name },
  dialect: { engine },
  identity: { cluster },
});

describe('refuseUnknownServers', () => {
  it('accepts an unknown server when it is the only target of its engine', () => {
    expect(() =>
      refuseUnknownServers([
        target('main', 'postgres', 'postgres:unknown'),
        target('cell', 'mysql', 'mysql:db:3306:/var/lib/mysql/'),
      ]),
    ).not.toThrow();
  });

  it('accepts known servers, shared or not', () => {
    expect(() =>
      refuseUnknownServers([
        target('a', 'postgres', 'postgres:7321'),
        target('b', 'postgres', 'postgres:7321'),
        target('c', 'postgres', 'postgres:9999'),
      ]),
    ).not.toThrow();
  });

  it('refuses (exit 2) an unknown server next to another target of its engine, naming both', () => {
    let error: unknown;
    try {
      refuseUnknownServers([
        target('a', 'postgres', 'postgres:7321'),
        target('b', 'postgres', 'postgres:unknown'),
      ]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).exitCode).toBe(2);
    expect((error as Error).message).toContain(
      'target b: its postgres server does not say which server it is, so dbwarden cannot tell whether it holds the roles of target(s) a',
    );
  });
});
