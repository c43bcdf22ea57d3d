/**
 * The shared negative checks (test/harness/statement-log.ts) cannot pass by seeing nothing: an
 * empty output, a log without the statements the test made the server run, or a log the tests
 * cannot read, each fails.
 */
import { describe, expect, it } from 'vitest';
import {
  expectNoSecrets,
  expectNotLogged,
  type StatementLog,
  unreadableLog,
} from '../harness/statement-log.js';

const SECRET = 'hunter2-the-password';

function fakeLog(statements: string[]): StatementLog {
  return {
    file: '/tmp/fake.log',
    statements: () => statements,
    statementsAfter: () => Promise.resolve(statements),
    text: () => statements.join('\n'),
  };
}

describe('expectNoSecrets', () => {
  it('passes on output that holds what it should and no secret', () => {
    expectNoSecrets('created login shop_api\n', {
      what: 'output',
      secrets: [SECRET],
      seen: ['created login'],
    });
  });

  it('fails on empty output, on no secret to look for, and on output that is not the one meant', () => {
    expect(() => expectNoSecrets(' \n', { what: 'output', secrets: [SECRET] })).toThrow(
      'output is empty: a leak check on nothing passes vacuously',
    );
    expect(() => expectNoSecrets('text', { what: 'output', secrets: [] })).toThrow(
      'output: no secret to look for',
    );
    expect(() => expectNoSecrets('text', { what: 'output', secrets: [''] })).toThrow(
      'output: secret #0 is empty',
    );
    expect(() =>
      expectNoSecrets('usage: dbwarden', { what: 'output', secrets: [SECRET], seen: [/created login/] }),
    ).toThrow('output lacks /created login/');
  });

  it('fails on a secret, without printing it', () => {
    let message = '';
    try {
      expectNoSecrets(`password=${SECRET}`, { what: 'output', secrets: ['other', SECRET] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('output holds secret #1 (20 characters) at offset 9');
    expect(message).not.toContain(SECRET);
  });
});

describe('expectNotLogged', () => {
  const created = /CREATE ROLE "shop_api" LOGIN/;

  it('passes on a log that holds the expected statement and no secret', () => {
    expectNotLogged(fakeLog(['CREATE ROLE "shop_api" LOGIN PASSWORD \'SCRAM-SHA-256$4096:...\'']), {
      secrets: [SECRET],
      logged: [created],
    });
  });

  it('fails on an empty log, and on a log without the statement the test made the server run', () => {
    expect(() => expectNotLogged(fakeLog([]), { secrets: [SECRET], logged: [created] })).toThrow(
      'the server log /tmp/fake.log holds no statement',
    );
    expect(() => expectNotLogged(fakeLog(['SELECT 1']), { secrets: [SECRET], logged: [created] })).toThrow(
      'has no statement matching /CREATE ROLE "shop_api" LOGIN/',
    );
    expect(() => expectNotLogged(fakeLog(['SELECT 1']), { secrets: [SECRET], logged: [] })).toThrow(
      'a leak check must name a statement it expects in the log',
    );
  });

  it('fails on a secret in the log', () => {
    expect(() =>
      expectNotLogged(fakeLog([`CREATE ROLE "shop_api" LOGIN PASSWORD '${SECRET}'`]), {
        secrets: [SECRET],
        logged: [created],
      }),
    ).toThrow('holds secret #0');
  });

  it('fails, saying why, on the log of a server given by URL', async () => {
    const log = unreadableLog('DBWARDEN_TEST_PG_URL is set');
    expect(() => expectNotLogged(log, { secrets: [SECRET], logged: [created] })).toThrow(
      'no server statement log to read: DBWARDEN_TEST_PG_URL is set',
    );
    await expect(log.statementsAfter('marker')).rejects.toThrow('no server statement log to read');
  });
});
