import { describe, expect, it } from 'vitest';
import { loginUrl, loginUrlProblem, redactUrl } from '../../../src/credentials/login-url.js';
import { InvalidInputError } from '../../../src/errors.js';

const ADMIN_SECRET = 'Adm1nS3cret';

describe('loginUrl', () => {
  it('replaces the admin userinfo and keeps host, port, database and query', () => {
    expect(
      loginUrl(
        `postgresql://admin:${ADMIN_SECRET}@db.example.com:5432/nova_api?sslmode=verify-full&connect_timeout=5`,
        'nova_scheduler',
        'pw',
      ),
    ).toBe(
      'postgresql://nova_scheduler:pw@db.example.com:5432/nova_api?sslmode=verify-full&connect_timeout=5',
    );
  });

  it('adds userinfo to a URL without any', () => {
    expect(loginUrl('mysql://db.example.com/nova', 'nova_api', 'pw')).toBe(
      'mysql://nova_api:pw@db.example.com/nova',
    );
  });

  it('keeps an IPv6 host with and without a port', () => {
    expect(loginUrl(`postgres://admin:${ADMIN_SECRET}@[::1]:6543/db`, 'u', 'p')).toBe(
      'postgres://u:p@[::1]:6543/db',
    );
    expect(loginUrl('postgres://admin@[2001:db8::5]/db', 'u', 'p')).toBe('postgres://u:p@[2001:db8::5]/db');
  });

  it('keeps a URL without port or database as it is', () => {
    expect(loginUrl('postgres://admin@localhost', 'u', 'p')).toBe('postgres://u:p@localhost');
  });

  it('keeps libpq’s multi-host form and a socket directory in the query', () => {
    expect(loginUrl('postgresql://admin@h1:5432,h2:5433/db?target_session_attrs=read-write', 'u', 'p')).toBe(
      'postgresql://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write',
    );
    expect(loginUrl('postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql', 'u', 'p')).toBe(
      'postgresql://u:p@/db?host=%2Fvar%2Frun%2Fpostgresql',
    );
  });

  it('drops an admin password containing encoded @ and :', () => {
    const url = loginUrl('postgres://admin:s%40cr%3At@db:5432/app', 'u', 'p');
    expect(url).toBe('postgres://u:p@db:5432/app');
    expect(url).not.toContain('cr');
  });

  it('drops an admin password containing raw @ and :', () => {
    const url = loginUrl('postgres://admin:s@cr:et@db:5432/app?sslmode=require', 'u', 'p');
    expect(url).toBe('postgres://u:p@db:5432/app?sslmode=require');
  });

  it('drops user, password and sslpassword query parameters', () => {
    const url = loginUrl(
      `postgres://db/app?user=admin&sslmode=require&password=${ADMIN_SECRET}&sslpassword=${ADMIN_SECRET}&application_name=x`,
      'u',
      'p',
    );
    expect(url).toBe('postgres://u:p@db/app?sslmode=require&application_name=x');
    expect(loginUrl(`postgres://db/app?password=${ADMIN_SECRET}`, 'u', 'p')).toBe('postgres://u:p@db/app');
  });

  it('percent-encodes the login’s user name and password', () => {
    const url = loginUrl('postgres://db/app', 'us@r:x', 'p@ss:w/rd?#%&');
    expect(url).toBe('postgres://us%40r%3Ax:p%40ss%3Aw%2Frd%3F%23%25%26@db/app');
    const userinfo = /^postgres:\/\/([^@]*)@db\/app$/.exec(url)?.[1] ?? '';
    const [user = '', password = ''] = userinfo.split(':');
    expect(decodeURIComponent(user)).toBe('us@r:x');
    expect(decodeURIComponent(password)).toBe('p@ss:w/rd?#%&');
  });

  it('refuses an admin URL whose userinfo runs past the host, without echoing it', () => {
    for (const admin of [
      `postgres://admin:${ADMIN_SECRET}/x@db/app`,
      `postgres://admin:12/${ADMIN_SECRET}@db/app`,
      `postgres://admin:${ADMIN_SECRET}?x@db/app`,
      `postgres://admin:${ADMIN_SECRET}#x@db/app`,
    ]) {
      expect(() => loginUrl(admin, 'u', 'p')).toThrow(/percent-encode/);
      try {
        loginUrl(admin, 'u', 'p');
      } catch (error) {
        expect((error as Error).message).not.toContain(ADMIN_SECRET);
      }
    }
  });

  it('refuses something that is not a URL (invalid input, exit 2), and an empty user name or password (a bug)', () => {
    expect(() => loginUrl(`host=db password=${ADMIN_SECRET}`, 'u', 'p')).toThrow(InvalidInputError);
    expect(loginUrlProblem(`host=db password=${ADMIN_SECRET}`)?.exitCode).toBe(2);
    expect(loginUrlProblem(`host=db password=${ADMIN_SECRET}`)?.message).not.toContain(ADMIN_SECRET);
    expect(loginUrlProblem(`postgres://admin:${ADMIN_SECRET}/x@db/app`)?.message).toMatch(/percent-encode/);
    expect(loginUrlProblem('mysql://db/nova?ssl=[1]')?.message).toMatch(/ssl parameter is not valid/);
    expect(loginUrlProblem(`postgres://admin:${ADMIN_SECRET}@db/app?sslmode=require`)).toBeUndefined();
    expect(() => loginUrl('postgres://db/app', '', 'p')).toThrow(TypeError);
    expect(() => loginUrl('postgres://db/app', 'u', '')).toThrow(TypeError);
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl(`postgresql://admin:${ADMIN_SECRET}@db:5432/app?sslmode=require`)).toBe(
      'postgresql://admin:***@db:5432/app?sslmode=require',
    );
  });

  it('hides a password containing raw @ and :', () => {
    expect(redactUrl('postgres://admin:s@cr:et@[::1]:5432/app')).toBe('postgres://admin:***@[::1]:5432/app');
  });

  it('hides password query parameters', () => {
    expect(redactUrl(`postgres://db/app?password=${ADMIN_SECRET}&sslmode=require&sslpassword=x`)).toBe(
      'postgres://db/app?password=***&sslmode=require&sslpassword=***',
    );
  });

  it('leaves a URL without a password unchanged', () => {
    for (const url of ['postgres://admin@db/app', 'mysql://db:3306/app?ssl=true', 'postgres://[::1]/db']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('hides all of an ambiguous userinfo', () => {
    const redacted = redactUrl(`postgres://admin:12/${ADMIN_SECRET}@db/app?password=${ADMIN_SECRET}`);
    expect(redacted).toBe('postgres://***@db/app?password=***');
  });

  it('hides a string that is not a URL entirely', () => {
    expect(redactUrl(`host=db password=${ADMIN_SECRET}`)).toBe('***');
  });
});

describe('loginUrl keeps only the query parameters on the engine’s allow-list', () => {
  const PASSPHRASE = 'K3yPassphr4se';
  const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEv';
  const CA = '-----BEGIN CERTIFICATE-----\nMIID';
  const sslJson = JSON.stringify({
    ca: CA,
    key: KEY,
    cert: '-----BEGIN CERTIFICATE-----\nADMIN',
    pfx: 'PFXDATA',
    passphrase: PASSPHRASE,
    rejectUnauthorized: true,
    verifyIdentity: true,
    minVersion: 'TLSv1.2',
    somethingNew: 'x',
  });

  it('MySQL: keeps the CA and verification parts of ssl, never key, cert, pfx or passphrase', () => {
    const url = loginUrl(
      `mysql://root:${ADMIN_SECRET}@db:3306/nova?ssl=${encodeURIComponent(sslJson)}&charset=utf8mb4`,
      'nova_api',
      'pw',
    );
    const query = new URL(url).searchParams;
    expect(JSON.parse(query.get('ssl') ?? '')).toEqual({
      ca: CA,
      rejectUnauthorized: true,
      verifyIdentity: true,
      minVersion: 'TLSv1.2',
    });
    expect(query.get('charset')).toBe('utf8mb4');
    for (const secret of [
      PASSPHRASE,
      'PFXDATA',
      'ADMIN',
      'MIIEv',
      ADMIN_SECRET,
      'passphrase',
      'somethingNew',
    ]) {
      expect(decodeURIComponent(url)).not.toContain(secret);
    }
  });

  it('MySQL: reads ssl as URLSearchParams does ("+" is a space) and keeps ssl=true as it is', () => {
    const plus = loginUrl('mariadb://db/nova?ssl={"minVersion":"TLSv1.3","passphrase":"a+b"}', 'u', 'p');
    expect(plus).toBe(`mariadb://u:p@db/nova?ssl=${encodeURIComponent('{"minVersion":"TLSv1.3"}')}`);
    expect(loginUrl('mysql://db/nova?ssl=true', 'u', 'p')).toBe('mysql://u:p@db/nova?ssl=true');
  });

  it('MySQL: drops a client key given as a parameter of its own, and unknown parameters', () => {
    expect(
      loginUrl(
        'mysql://db/nova?ssl_key=/admin.key&ssl_cert=/admin.pem&ssl_ca=/ca.pem&local_infile=1&read_default_file=/root/.my.cnf',
        'u',
        'p',
      ),
    ).toBe('mysql://u:p@db/nova?ssl_ca=/ca.pem');
  });

  it('MySQL: a malformed ssl JSON is refused naming the parameter, never quoting its value', () => {
    const admin = `mysql://db/nova?ssl=${encodeURIComponent(`{"passphrase":"${PASSPHRASE}"`)}`;
    let message = '';
    try {
      loginUrl(admin, 'u', 'p');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('the ssl parameter is not valid');
    expect(message).not.toContain(PASSPHRASE);
    expect(() => loginUrl('mysql://db/nova?ssl=[1]', 'u', 'p')).toThrow(/ssl parameter is not valid/);
    expect(() => loginUrl('mysql://db/nova?ssl=%E0%A4%A', 'u', 'p')).toThrow(/ssl parameter/);
  });

  it('PostgreSQL: keeps server checks and connection settings, drops the admin’s client certificate and settings', () => {
    const url = loginUrl(
      'postgresql://admin@db/nova?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/admin.crt&sslkey=/admin.key' +
        `&sslpassword=${ADMIN_SECRET}&passfile=/root/.pgpass&service=admin&options=-c%20role%3Dx` +
        '&target_session_attrs=read-write&connect_timeout=5&application_name=nova&replication=database',
      'u',
      'p',
    );
    expect(url).toBe(
      'postgresql://u:p@db/nova?sslmode=verify-full&sslrootcert=/ca.pem&target_session_attrs=read-write&connect_timeout=5&application_name=nova',
    );
  });

  it('keeps no query at all for a scheme it does not know', () => {
    expect(loginUrl('foo://db/nova?sslmode=require', 'u', 'p')).toBe('foo://u:p@db/nova');
  });

  it('redactUrl hides a MySQL ssl JSON, which may hold a passphrase', () => {
    const redacted = redactUrl(`mysql://db/nova?ssl=${encodeURIComponent(sslJson)}&charset=utf8mb4`);
    expect(redacted).toBe('mysql://db/nova?ssl=***&charset=utf8mb4');
  });
});
