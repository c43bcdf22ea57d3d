/**
 * The MySQL admin URL's options as mysql2 reads them (connectionOptions): the
 * admin keeps its whole `ssl` object, and a URL or `ssl` value that cannot
 * be read is invalid input naming the target, never quoting the value.
 * Pure: nothing connects.
 */
import { describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../src/dialects/mysql/session.js';
import { InvalidInputError } from '../../../src/errors.js';

const PASSPHRASE = 'K3yPassphr4se';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('connectionOptions', () => {
  it('gives the admin connection its whole ssl object, passphrase included', () => {
    const ssl = encodeURIComponent(JSON.stringify({ ca: 'CA', passphrase: PASSPHRASE }));
    const options = connectionOptions(`mariadb://root:pw@db:3307/nova?ssl=${ssl}`, 'main1');
    expect(options).toMatchObject({ host: 'db', port: 3307, user: 'root', database: 'nova' });
    expect(options.ssl).toEqual({ ca: 'CA', passphrase: PASSPHRASE });
    expect(connectionOptions('mysql://db/nova?ssl=true', 'main1').ssl).toEqual({});
    expect(connectionOptions('mysql://db/nova?ssl=false', 'main1').ssl).toBeUndefined();
  });

  it('refuses a malformed ssl value naming the parameter and the target, not the value', () => {
    const ssl = encodeURIComponent(`{"passphrase":"${PASSPHRASE}"`);
    const err = thrown(() => connectionOptions(`mysql://root:pw@db/nova?ssl=${ssl}`, 'main1'));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe(
      'target main1: the ssl parameter is not valid: expected true, false or a JSON object of TLS options',
    );
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(PASSPHRASE);
  });

  it('refuses a URL WHATWG cannot read naming the target, without the URL', () => {
    const err = thrown(() => connectionOptions('mysql://root:pw@[bad/nova', 'main1'));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe('target main1: the URL cannot be read');
    expect(JSON.stringify({ ...err, stack: err.stack })).not.toContain('pw@');
  });
});
