import { describe, expect, it } from 'vitest';
import { loginUrl, redactUrl } from '../../../src/credentials/login-url.js';

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

  it('refuses something that is not a URL, and an empty user name or password', () => {
    expect(() => loginUrl(`host=db password=${ADMIN_SECRET}`, 'u', 'p')).toThrow(TypeError);
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
