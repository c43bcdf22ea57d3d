/**
 * Destructive downgrades confirm (issue 15, point 12): `downgrade --to base` (decrypts every
 * stored value) and `--drop-roles` refuse off a terminal without --yes, exit 2 with nothing
 * changed and say what they would destroy; on a terminal they ask for the app's name. And
 * `--drop-roles` counts a session once per server, not once per target of that server (point 7).
 * On every engine, through the real binary where a terminal is absent.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { ENGINES } from '../../harness/engines.js';
import { insertUsersSql, randomUsers, storedUsers, USERS_SECRETS } from './secret-users.js';
import { type CliRun, createScenario, type Scenario } from './scenario.js';
import { createTwoTargets, type TwoTargets } from './two-targets.js';

const KEY1 = randomBytes(32).toString('base64');
const originals = randomUsers(20);

describe.each(ENGINES)('downgrade asks before it destroys, on $title', (engine) => {
  let s: Scenario;
  /** The CLI in-process with a terminal that answers `answer` (and records the questions). */
  const onTerminal = async (answer: string, ...args: string[]) => {
    const questions: string[] = [];
    let stdout = '';
    let stderr = '';
    const code = await main(['--config', path.join(s.dir, 'dbwarden.yaml'), ...args], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: s.env,
      cwd: s.dir,
      prompt: (question) => {
        questions.push(question);
        return Promise.resolve(answer);
      },
    });
    return { code, stdout, stderr, questions };
  };
  const migrationsApplied = async () =>
    (
      JSON.parse((await s.cli('status', '--format', 'json')).stdout) as {
        targets: { migrations: { applied: boolean }[] }[];
      }
    ).targets[0]?.migrations.map((m) => m.applied);

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64));
                 ${insertUsersSql(originals)}`,
      policies: [{ component: 'api', tables: { users: ['select'] } }],
      config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
      env: { KEY1 },
    });
    const upgraded = await s.cli('upgrade');
    expect(upgraded.code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('off a terminal, without --yes: exit 2, says what it would destroy, nothing changed', async () => {
    const encrypted = await storedUsers(s);
    expect(encrypted[0]?.secret).not.toBe(originals[0]?.secret);
    const accounts = await engine.accounts(`${s.app}_`);
    expect(accounts.length).toBeGreaterThan(0);

    const refused: CliRun = await s.spawnCli('downgrade', '--to', 'base', '--drop-roles');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('downgrade --to base --drop-roles would:');
    expect(refused.stderr).toContain('decrypt every stored value of main:users (access_key, secret_key)');
    expect(refused.stderr).toContain(`drop every role and login dbwarden manages for app ${s.app}`);
    expect(refused.stderr).toContain(`${s.app}_api`);
    expect(refused.stderr).toContain('nothing was changed');
    expect(refused.stderr).toContain('--yes');
    expect(refused.stdout).toBe('');
    expect(await storedUsers(s)).toEqual(encrypted);
    expect(await engine.accounts(`${s.app}_`)).toEqual(accounts);
    expect(await migrationsApplied()).toEqual([true, true]);

    const json = await s.spawnCli('downgrade', '--to', '001_key_columns', '--format', 'json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { kind: 'InvalidInputError' } });
    expect(await storedUsers(s)).toEqual(encrypted);
  });

  it('on a terminal: any answer but the app name stops it, nothing changed', async () => {
    const encrypted = await storedUsers(s);
    const declined = await onTerminal('yes', 'downgrade', '--to', 'base');
    expect(declined.questions).toHaveLength(1);
    expect(declined.questions[0]).toContain(
      'downgrade --to base will:\n  - decrypt every stored value of main:users',
    );
    expect(declined.questions[0]).toContain(`Type the app name (${s.app}) to go on, anything else to stop: `);
    expect(declined.stderr).toContain('not confirmed');
    expect(declined.code).toBe(2);
    expect(await storedUsers(s)).toEqual(encrypted);
    expect(await migrationsApplied()).toEqual([true, true]);
  });

  it('on a terminal: the app name goes on; --to the newest migration asks nothing', async () => {
    const nothing = await onTerminal('', 'downgrade', '--to', '002_encrypt');
    expect(nothing.questions).toEqual([]);
    expect(nothing.code).toBe(0);
    const confirmed = await onTerminal(s.app, 'downgrade', '--to', 'base');
    expect(confirmed.questions).toHaveLength(1);
    expect(confirmed.stderr).not.toContain('not confirmed');
    expect(confirmed.code).toBe(0);
    expect(await storedUsers(s)).toEqual(originals);
    expect(await migrationsApplied()).toEqual([false, false]);
  });
});

describe.each(ENGINES)('downgrade --drop-roles counts sessions per server, on $title', (engine) => {
  let m: TwoTargets;
  beforeAll(async () => {
    m = await createTwoTargets(engine);
    expect((await m.cli('apply')).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await m.cleanup();
  });

  it('one session of a login on a server of two targets is reported once', async () => {
    const url = m.credentials('api').targets.nova_api?.url ?? '';
    expect(url).not.toBe('');
    const refused = await engine.connect(url, () =>
      m.cli('downgrade', '--to', 'base', '--drop-roles', '--yes'),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `logins still connected: ${m.app}_api (1 session on the server of nova_api, nova_cell1); nothing was changed`,
    );
    expect(refused.stderr.match(new RegExp(`${m.app}_api \\(`, 'g'))).toHaveLength(1);
  });
});
