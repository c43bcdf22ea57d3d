/**
 * A component's credentials carry only the query parameters of the admin URL
 * that the engine's allow-list names (src/dialects/<engine>/url-params.ts):
 * nothing of the admin's client identity or secrets, on every engine. On
 * MySQL/MariaDB, a malformed `ssl=` option is invalid input naming the
 * parameter and the target, never its value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import { createScenario, runCli, type Scenario } from './scenario.js';

const SECRET = 'Adm1nKeyPassphr4se';

/** Parameters the engine's connector ignores or accepts: the admin connection still works with them. */
const ADMIN_QUERY: Record<TestEngine['family'], { admin: string; kept: string }> = {
  postgres: {
    admin: `application_name=dbw_admin&options=-c%20work_mem%3D4MB&passfile=/root/${SECRET}`,
    kept: 'application_name=dbw_admin',
  },
  mysql: {
    admin: `charset=utf8mb4&local_infile=1&read_default_file=/root/.my.cnf&passphrase=${SECRET}`,
    kept: 'charset=utf8mb4',
  },
};

const withQuery = (url: string, query: string) => `${url}${url.includes('?') ? '&' : '?'}${query}`;

describe.each(ENGINES)('query parameters of the admin URL on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: 'create table t (id int);',
      policies: [{ component: 'api', tables: { t: ['select'] } }],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('reach the credentials file only when the allow-list names them', async () => {
    const { admin, kept } = ADMIN_QUERY[engine.family];
    const env = { ...s.env, MAIN_URL: withQuery(s.db.url, admin) };
    const applied = await runCli(s.dir, env, ['apply']);
    expect(applied.code, applied.stderr).toBe(0);

    const text = fs.readFileSync(path.join(s.credentialsDir, 'api.json'), 'utf8');
    const url = s.credentials('api').targets.main1?.url ?? '';
    expect(url).toContain(`${s.app}_api:`);
    expect(url.endsWith(`?${kept}`)).toBe(true);
    expect(text).not.toContain(SECRET);
    expect(await engine.whoami(url)).toBe(`${s.app}_api`);
    expect((await runCli(s.dir, env, ['verify'])).code).toBe(0);
  });

  it('refuses (exit 2, before connecting) an admin URL in a urlFile with an "@" after its host', async () => {
    const before = fs.readFileSync(path.join(s.credentialsDir, 'api.json'), 'utf8');
    // An unencoded "/" in the password: where the host starts depends on who reads it.
    const ambiguous = s.db.url.replace(/:([^:@/]*)@/, `:$1/${SECRET}@`);
    expect(ambiguous).not.toBe(s.db.url);
    const configFile = path.join(s.dir, 'dbwarden.yaml');
    const configText = fs.readFileSync(configFile, 'utf8');
    expect(configText).toContain('url: ${MAIN_URL}');
    fs.writeFileSync(configFile, configText.replace('url: ${MAIN_URL}', 'urlFile: main-url'));
    fs.writeFileSync(path.join(s.dir, 'main-url'), `${ambiguous}\n`);
    try {
      const applied = await runCli(s.dir, s.env, ['apply', '--format', 'json']);
      expect(applied.code, applied.stdout + applied.stderr).toBe(2);
      const { error } = JSON.parse(applied.stdout) as { error: { kind: string; message: string } };
      expect(error.kind).toBe('InvalidInputError');
      expect(error.message).toContain('target main1: admin URL has an "@" after its host: percent-encode');
      expect(`${applied.stdout}${applied.stderr}`).not.toContain(SECRET);
      expect(fs.readFileSync(path.join(s.credentialsDir, 'api.json'), 'utf8')).toBe(before);
    } finally {
      fs.writeFileSync(configFile, configText);
    }
  });
});

describe.each(ENGINES.filter((e) => e.family === 'mysql'))('a malformed ssl option on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: 'create table t (id int);',
      policies: [{ component: 'api', tables: { t: ['select'] } }],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('is invalid input naming the parameter and the target, never its value', async () => {
    const ssl = encodeURIComponent(`{"passphrase":"${SECRET}"`);
    const badUrl = withQuery(s.db.url, `ssl=${ssl}`);
    // Inline (through ${MAIN_URL}): validate finds it, at the url's file:line:col.
    const validated = await runCli(s.dir, { ...s.env, MAIN_URL: badUrl }, ['validate']);
    expect(validated.code).toBe(2);
    expect(validated.stderr).toMatch(
      /dbwarden\.yaml:\d+:\d+: error: target "main1": the ssl parameter is not valid/,
    );
    expect(`${validated.stdout}${validated.stderr}`).not.toContain(SECRET);

    // From a urlFile (read only when a command runs): the connection refuses it, exit 2, nothing written.
    const configFile = path.join(s.dir, 'dbwarden.yaml');
    const configText = fs.readFileSync(configFile, 'utf8');
    expect(configText).toContain('url: ${MAIN_URL}');
    fs.writeFileSync(configFile, configText.replace('url: ${MAIN_URL}', 'urlFile: main-url'));
    fs.writeFileSync(path.join(s.dir, 'main-url'), `${badUrl}\n`);
    const planned = await runCli(s.dir, s.env, ['plan']);
    expect(planned.code).toBe(2);
    expect(planned.stderr).toContain('target main1: the ssl parameter is not valid');
    expect(`${planned.stdout}${planned.stderr}`).not.toContain(SECRET);
    expect(fs.existsSync(path.join(s.credentialsDir, 'api.json'))).toBe(false);
  });
});
