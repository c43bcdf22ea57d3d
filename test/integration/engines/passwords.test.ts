/**
 * Passwords: never in the server's statement log (PostgreSQL: log_statement=all;
 * MySQL: the general log), stdout, stderr or plans; credential files are 0600
 * and work; rotation changes the password and the old one stops working; a lost
 * credential file is a clear error. On every engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { expectNoSecrets, expectNotLogged } from '../../harness/statement-log.js';
import { type CliRun, createScenario, type Scenario } from './scenario.js';
import { generatePassword } from '../../../src/credentials/password.js';

describe.each(ENGINES)('passwords and credential files on $title', (engine) => {
  let s: Scenario;
  const outputs: CliRun[] = [];
  const run = async (...args: string[]) => {
    const result = await s.cli(...args);
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table services (${engine.serialId}, host text);`,
      policies: [
        { component: 'api', tables: { services: ['select'] } },
        { component: 'scheduler', tables: { services: ['select', 'update'] } },
      ],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const connect = async (url: string) => ({ u: await engine.whoami(url) });

  it('writes 0600 credential files whose URLs log in, and keeps passwords out of every output and the server log', async () => {
    await run('plan');
    await run('plan', '--format', 'sql');
    await run('plan', '--format', 'json');
    expect((await run('apply')).code).toBe(0);
    await run('apply', '--format', 'json');
    await run('verify');

    const passwords: string[] = [];
    for (const component of ['api', 'scheduler']) {
      const file = path.join(s.credentialsDir, `${component}.json`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const creds = s.credentials(component);
      expect(creds).toMatchObject({ component, username: `${s.app}_${component}` });
      expect(creds.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(creds.targets.main1?.url.startsWith(`${engine.urlScheme}://`)).toBe(true);
      expect(await connect(creds.targets.main1?.url as string)).toEqual({ u: `${s.app}_${component}` });
      passwords.push(creds.password);
    }
    expect(fs.statSync(s.credentialsDir).mode & 0o777).toBe(0o700);

    const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expectNoSecrets(printed, { what: 'what dbwarden printed', secrets: passwords });
    // The server log did record the login's creation, with a verifier in place of the password.
    expectNotLogged(engine.statementLog, {
      secrets: passwords,
      logged: [engine.loginCreatedPattern(`${s.app}_api`)],
    });
  });

  it('--rotate-passwords gives a new password that works, and the old one stops working', async () => {
    const before = s.credentials('api');
    const scheduler = s.credentials('scheduler');
    const rotated = await run('apply', '--rotate-passwords', '--component', 'api');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`~ set a new password for ${s.app}_api`);
    const after = s.credentials('api');
    expect(after.password).not.toBe(before.password);
    expect(rotated.stdout + rotated.stderr).not.toContain(after.password);
    expect(await connect(after.targets.main1?.url as string)).toEqual({ u: `${s.app}_api` });
    await expect(connect(before.targets.main1?.url as string)).rejects.toMatchObject({
      code: engine.authFailedCode,
    });
    // Other components keep theirs.
    expect(s.credentials('scheduler')).toEqual(scheduler);
    // Setting a new password sends the server a verifier too, never the password.
    expectNotLogged(engine.statementLog, {
      secrets: [before.password, after.password],
      logged: [engine.passwordSetPattern(`${s.app}_api`)],
    });
  });

  it('a lost credential file of an existing login is a clear error that says how to recover', async () => {
    fs.rmSync(path.join(s.credentialsDir, 'scheduler.json'));
    const refused = await run('apply');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`login ${s.app}_scheduler exists but`);
    expect(refused.stderr).toContain('dbwarden apply --rotate-passwords --component scheduler');
    const planned = await run('plan');
    expect(planned.stderr).toContain('apply --rotate-passwords --component scheduler');

    expect((await run('apply', '--rotate-passwords', '--component', 'scheduler')).code).toBe(0);
    expect((await run('verify')).code).toBe(0);
  });

  it('a pending password left by an interrupted run is settled by the next run', async () => {
    // As if a run had written the pending file and died before committing: the server never got it.
    const current = s.credentials('api');
    const pendingPath = path.join(s.credentialsDir, '.api.json.pending');
    const password = generatePassword(); // dbwarden's form: anything else is refused as planted
    const url = (current.targets.main1?.url as string).replace(current.password, password);
    const stale = { ...current, password, targets: { main1: { url } } };
    fs.writeFileSync(pendingPath, JSON.stringify(stale), { mode: 0o600 });
    const applied = await run('apply');
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('had not committed a new password for api; discarded it');
    expect(fs.existsSync(pendingPath)).toBe(false);
    expect(s.credentials('api').password).toBe(current.password);
    expect((await run('verify')).code).toBe(0);
  });

  it('a pending password the server did commit is kept: the credential file is completed from it', async () => {
    // As if a run had committed a new password and died before writing the credential file.
    const current = s.credentials('api');
    const password = generatePassword(); // dbwarden's form: anything else is refused as planted
    await s.sql(engine.setPasswordSql(`${s.app}_api`, password));
    const url = (current.targets.main1?.url as string).replace(current.password, password);
    fs.writeFileSync(
      path.join(s.credentialsDir, '.api.json.pending'),
      JSON.stringify({ ...current, password, targets: { main1: { url } } }),
      { mode: 0o600 },
    );
    const applied = await run('apply');
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('had set a new password for api; saved it');
    expect(s.credentials('api').password).toBe(password);
    expect((await run('verify')).code).toBe(0);
  });
});
