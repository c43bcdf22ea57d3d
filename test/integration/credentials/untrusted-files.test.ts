/**
 * The credentials directory as an attacker next to dbwarden sees it (issue 14,
 * findings 1, 2 and 10; issue 15, defect 8), through the CLI against the real
 * servers: two targets on two databases of one server, as in the issue.
 *
 * - A pending file planted in a group-writable directory, whose URL logs in
 *   as another user on one target, used to make `apply` set the attacker's
 *   password on the component's login everywhere. Now the directory is
 *   refused, a password not of dbwarden's form is refused, and a pending
 *   password is only ever tried as the component's own login on the URLs the
 *   config gives.
 * - A credential file planted before the first apply used to hand its
 *   password to the new login.
 * - A symlink at a credential path used to be followed and its target chmod-ed.
 * - Temporary files of a killed write were never removed.
 * - A no-op apply on a read-only directory failed removing a pending file
 *   that did not exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePassword } from '../../../src/credentials/password.js';
import type { TestDatabase } from '../../harness/databases.js';
import { ENGINES } from '../../harness/engines.js';
import { type CliRun, runCli, runProcess, writeDeployment, writePolicy } from '../engines/scenario.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe.each(ENGINES)('untrusted credential files on $title', (engine) => {
  const app = `u${Date.now().toString(36).slice(-6)}${engine.name.slice(0, 2)}`;
  let dbs: TestDatabase[] = [];
  let dir: string;
  let creds: string;
  let env: Record<string, string | undefined>;
  const outputs: CliRun[] = [];
  const run = async (...args: string[]) => {
    const result = await runCli(dir, env, args);
    outputs.push(result);
    return result;
  };
  const login = `${app}_api`;
  const mallory = `${app}_mallory`;
  const malloryPassword = generatePassword();
  const loginUrl = (db: TestDatabase, user: string, password: string) => {
    const url = new URL(db.url);
    url.username = user;
    url.password = password;
    return url.toString();
  };
  /** Whether `user` logs in with `password` on the first database. */
  const logsIn = async (user: string, password: string, db = dbs[0]) => {
    try {
      return (await engine.whoami(loginUrl(db as TestDatabase, user, password))) === user;
    } catch (error) {
      expect(String((error as { code?: string }).code)).toBe(engine.authFailedCode);
      return false;
    }
  };
  const fileOf = (component: string) =>
    JSON.parse(fs.readFileSync(path.join(creds, `${component}.json`), 'utf8')) as {
      username: string;
      password: string;
      targets: Record<string, { url: string }>;
    };
  const plant = (name: string, content: object, mode = 0o600) => {
    const file = path.join(creds, name);
    fs.writeFileSync(file, JSON.stringify(content), { mode });
    fs.chmodSync(file, mode);
    return file;
  };

  beforeAll(async () => {
    dbs = [await engine.createDatabase(), await engine.createDatabase()];
    for (const db of dbs) await engine.query(db.url, `create table services (${engine.serialId}, host text)`);
    dir = writeDeployment(app, [
      { name: 'main1', kind: 'main', urlVariable: 'MAIN1_URL' },
      { name: 'main2', kind: 'main', urlVariable: 'MAIN2_URL' },
    ]);
    creds = path.join(dir, 'credentials');
    env = { PATH: process.env.PATH, MAIN1_URL: dbs[0]?.url, MAIN2_URL: dbs[1]?.url };
    writePolicy(dir, 'api', { main: { services: ['select'] } });
    // Another user of the same server whose password the attacker knows.
    const create =
      engine.family === 'postgres'
        ? `create role ${engine.ident(mallory)} login password ${engine.literal(malloryPassword)}`
        : `create user ${engine.ident(mallory)}@'%' identified by ${engine.literal(malloryPassword)}`;
    await engine.query(engine.adminUrl(), create);
    if (engine.family !== 'postgres') {
      for (const db of dbs) {
        await engine.query(
          engine.adminUrl(),
          `grant select on ${engine.ident(db.name)}.* to ${engine.ident(mallory)}@'%'`,
        );
      }
    }
    expect((await run('apply')).code).toBe(0);
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await engine.dropRolesWithPrefix(`${app}_`);
    fs.rmSync(dir, { recursive: true, force: true });
    // Nothing dbwarden printed holds a password it read or wrote.
    const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(printed).toContain('credentials');
    for (const secret of ['attacker-chosen-pw', malloryPassword]) expect(printed).not.toContain(secret);
  });

  it('the issue’s planted pending file: a group-writable directory is refused and the password stays', async () => {
    const password = fileOf('api').password;
    expect(await logsIn(login, password)).toBe(true);
    expect(await logsIn(mallory, malloryPassword)).toBe(true);
    fs.chmodSync(creds, 0o770);
    const pending = plant('.api.json.pending', {
      component: 'api',
      username: login,
      password: 'attacker-chosen-pw',
      targets: {
        main1: { url: loginUrl(dbs[0] as TestDatabase, mallory, malloryPassword) },
        main2: { url: loginUrl(dbs[1] as TestDatabase, login, 'attacker-chosen-pw') },
      },
    });

    const refused = await run('apply');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `credentials directory ${creds} is writable by group or others (mode 0770)`,
    );
    expect(refused.stderr).toContain(`chmod 0700 ${creds}`);
    expect(await logsIn(login, password)).toBe(true);
    expect(await logsIn(login, 'attacker-chosen-pw')).toBe(false);

    // Tightened, the directory is trusted; the planted file still is not.
    fs.chmodSync(creds, 0o700);
    const again = await run('apply');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${pending} holds a password that dbwarden did not generate`);
    expect(again.stderr).toContain(`rm ${pending}`);
    expect(await logsIn(login, password)).toBe(true);
    expect(await logsIn(login, 'attacker-chosen-pw', dbs[1])).toBe(false);
    expect(fileOf('api').password).toBe(password);
    fs.rmSync(pending);
    expect((await run('apply')).code).toBe(0);
  });

  it('a pending password of dbwarden’s form is tried only as the component’s login on the config’s URLs', async () => {
    const password = fileOf('api').password;
    const planted = generatePassword();
    // Old code: main1's URL (another user) logs in, so "some servers took it": planted set everywhere.
    plant('.api.json.pending', {
      component: 'api',
      username: login,
      password: planted,
      targets: {
        main1: { url: loginUrl(dbs[0] as TestDatabase, mallory, malloryPassword) },
        main2: { url: loginUrl(dbs[1] as TestDatabase, login, planted) },
      },
    });
    const applied = await run('apply');
    expect(applied.stderr).toContain(
      'an interrupted run had not committed a new password for api; discarded it',
    );
    expect(applied.code).toBe(0);
    expect(fs.existsSync(path.join(creds, '.api.json.pending'))).toBe(false);
    expect(fileOf('api').password).toBe(password);
    for (const db of dbs) {
      expect(await logsIn(login, password, db)).toBe(true);
      expect(await logsIn(login, planted, db)).toBe(false);
    }
    // The credential file carries only the config's URLs, with the component's login.
    for (const { url } of Object.values(fileOf('api').targets)) expect(new URL(url).username).toBe(login);
  });

  it('a credential file planted before the first apply does not give the new login its password', async () => {
    const planted = plant('worker.json', {
      component: 'worker',
      username: `${app}_worker`,
      password: 'a',
      targets: { main1: { url: loginUrl(dbs[0] as TestDatabase, `${app}_worker`, 'a') } },
    });
    writePolicy(dir, 'worker', { main: { services: ['select'] } });
    const refused = await run('apply');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${planted} holds a password that dbwarden did not generate`);
    expect(await engine.accounts(`${app}_worker`)).toEqual([]);

    // One of dbwarden's form, but for another login: refused too.
    plant('worker.json', {
      component: 'worker',
      username: login,
      password: generatePassword(),
      targets: {},
    });
    const other = await run('apply');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      `${planted} names another login than component "worker"'s (${app}_worker)`,
    );
    expect(await engine.accounts(`${app}_worker`)).toEqual([]);

    fs.rmSync(planted);
    expect((await run('apply')).code).toBe(0);
    const worker = fileOf('worker');
    expect(worker.password).not.toBe('a');
    expect(await logsIn(`${app}_worker`, worker.password)).toBe(true);
    expect(await logsIn(`${app}_worker`, 'a')).toBe(false);
  });

  it('a symlink at a credential path is refused, and what it points to keeps its mode', async () => {
    const target = path.join(dir, 'elsewhere.json');
    fs.copyFileSync(path.join(creds, 'api.json'), target);
    fs.chmodSync(target, 0o644);
    const link = path.join(creds, 'api.json');
    fs.renameSync(link, `${link}.saved`);
    fs.symlinkSync(target, link);
    const refused = await run('apply');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${link} is a symbolic link: refused`);
    expect(fs.statSync(target).mode & 0o777).toBe(0o644);
    fs.rmSync(link);
    fs.renameSync(`${link}.saved`, link);
    expect((await run('apply')).code).toBe(0);
  });

  it('a run removes the temporary files a killed write left behind', async () => {
    const names = [
      '..api.json.pending.0123456789ab.tmp',
      '.api.json.pending.abcdef012345.tmp',
      '.api.json.fedcba987654.tmp',
    ];
    for (const name of names) plant(name, fileOf('api'));
    plant('.notes.tmp', {});
    const applied = await run('apply');
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('credentials: removed 3 temporary files left by an interrupted run');
    expect(fs.readdirSync(creds).sort()).toEqual(['.notes.tmp', 'api.json', 'worker.json']);
  });

  it('a no-op apply works on a read-only credentials directory', async () => {
    expect((await run('plan', '--exit-code')).code).toBe(0);
    const before = fs.readdirSync(creds).sort();
    // A read-only bind mount in a private mount namespace (unshare works as root and, with user
    // namespaces, as any user): the directory and files keep their owner and modes.
    const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"';
    const cli = [path.join(root, 'bin/dbwarden.js'), '--config', path.join(dir, 'dbwarden.yaml')];
    const readOnly = (...args: string[]) =>
      runProcess('unshare', ['-rm', 'sh', '-c', script, 'sh', creds, process.execPath, ...cli, ...args], {
        env,
      });
    const probe = await runProcess(
      'unshare',
      ['-rm', 'sh', '-c', script, 'sh', creds, 'touch', path.join(creds, 'probe')],
      { env },
    );
    expect(probe.stderr).toContain('Read-only file system');
    const applied = await readOnly('apply');
    expect(applied.stderr).not.toContain('EROFS');
    expect(applied.code).toBe(0);
    expect(fs.readdirSync(creds).sort()).toEqual(before);
  });

  it('verify connects with the config’s URL only: a file URL pointing elsewhere is reported, not followed', async () => {
    expect((await run('apply')).code).toBe(0);
    expect((await run('verify')).code).toBe(0);
    const file = path.join(creds, 'api.json');
    const original = fs.readFileSync(file, 'utf8');
    const content = fileOf('api');
    // main1's URL now names main2's database: the application would connect there.
    const redirected = { ...content, targets: { ...content.targets, main1: content.targets.main2 } };
    fs.writeFileSync(file, JSON.stringify(redirected), { mode: 0o600 });
    const verified = await run('verify');
    expect(verified.code).toBe(3);
    expect(verified.stdout).toMatch(/FAIL\s+api on main1/);
    expect(verified.stdout).toContain('is not the one the config gives');
    expect(verified.stdout).toMatch(/ok\s+api on main2/);
    // apply writes the config's URL back, and verify is clean again.
    expect((await run('apply')).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(original);
    expect((await run('verify')).code).toBe(0);
  });
});
