/**
 * Two apps on one server whose names nest (issue 14, finding 3): app `<b>_x`
 * has component `api` (login `<b>_x_api`); app `<b>` reads every `<b>_` role,
 * app `<b>_x`'s too. A policy of app `<b>` that wants the same name (component
 * `x_api`) is refused with exit 2 naming both apps and the role, before
 * anything is written; an app that wants other names leaves the first app's
 * roles exactly as they were. On every engine, with real logins.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, uniqueName } from '../../harness/databases.js';
import { type Account, ENGINES } from '../../harness/engines.js';
import { type CliRun, runCli, writeDeployment, writePolicy } from './scenario.js';

interface App {
  readonly app: string;
  readonly dir: string;
  readonly db: TestDatabase;
  cli(...args: string[]): Promise<CliRun>;
}

describe.each(ENGINES)('apps sharing a server on $title', (engine) => {
  // MySQL names hold at most 32 characters: `<base>_x_api_role` must fit.
  const base = uniqueName('t').slice(0, 16);
  const owner = `${base}_x`;
  const login = `${owner}_api`;
  const role = `${login}_role`;
  const apps: App[] = [];
  let first: App;
  let password: string;
  let url: string;
  let before: { accounts: Account[]; grants: string[] };

  async function deploy(app: string, policies: Record<string, Record<string, unknown> | undefined>) {
    const db = await engine.createDatabase();
    await engine.query(db.url, `create table users (${engine.serialId}, name text, email text)`);
    const dir = writeDeployment(app, [{ name: 'main1', kind: 'main', urlVariable: 'MAIN_URL' }]);
    for (const [component, tables] of Object.entries(policies)) {
      writePolicy(dir, component, tables && { main: tables });
    }
    const env = { PATH: process.env.PATH, MAIN_URL: db.url };
    const deployed: App = { app, dir, db, cli: (...args) => runCli(dir, env, args) };
    apps.push(deployed);
    return deployed;
  }

  /** What app `<b>_x` owns, as the server has it. */
  async function firstAppState() {
    return {
      accounts: await engine.accounts(`${owner}_`),
      grants: await engine.tableGrantsOf(first.db, 'users', role),
    };
  }

  beforeAll(async () => {
    first = await deploy(owner, { api: { users: ['select', 'insert'] } });
    const applied = await first.cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    const credentials = JSON.parse(fs.readFileSync(`${first.dir}/credentials/api.json`, 'utf8')) as {
      password: string;
      targets: Record<string, { url: string }>;
    };
    password = credentials.password;
    url = credentials.targets.main1?.url as string;
    before = await firstAppState();
  });
  afterAll(async () => {
    for (const a of apps) {
      await a.db.drop();
      fs.rmSync(a.dir, { recursive: true, force: true });
    }
    await engine.dropRolesWithPrefix(`${base}_`);
  });

  /** The first app's login, grants and marks are exactly as its apply left them. */
  async function expectFirstAppUntouched() {
    expect(before.accounts.map((a) => [a.name, a.canLogin, a.mark])).toEqual([
      [login, true, engine.expectedMark(owner)],
      [role, false, engine.expectedMark(owner)],
    ]);
    expect(before.grants).toEqual(['INSERT', 'SELECT']);
    expect(await firstAppState()).toEqual(before);
    expect(await engine.whoami(url)).toBe(login);
    expect(url).toContain(encodeURIComponent(password));
    const replan = await first.cli('plan', '--exit-code');
    expect(replan.stdout).toContain('no changes');
    expect(replan.code).toBe(0);
    expect((await first.cli('verify')).code).toBe(0);
  }

  it('a component of another app whose login is the same name: exit 2 naming both apps and the role, nothing written', async () => {
    const second = await deploy(base, { x_api: { users: ['select'] } });
    const marker = `dbwarden-collision-${randomUUID()}`;
    await engine.query(second.db.url, `select '${marker}'`);

    const runs = {
      plan: await second.cli('plan'),
      rotatePlan: await second.cli('plan', '--rotate-passwords'),
      apply: await second.cli('apply'),
      rotateApply: await second.cli('apply', '--rotate-passwords'),
      verify: await second.cli('verify'),
    };
    for (const [name, run] of Object.entries(runs)) {
      expect({ name, code: run.code }).toEqual({ name, code: 2 });
      expect(run.stderr).toContain(`role ${login} belongs to app ${owner}`);
      expect(run.stderr).toContain(`app ${base}'s component x_api wants that name`);
      expect(run.stderr).toContain(`role ${role} belongs to app ${owner}`);
      // Before: `~ mark <b>_x_api as managed by dbwarden` and revokes of the first app's grants.
      expect(run.stdout).not.toContain('mark');
      expect(run.stdout).not.toContain('revoke');
    }
    expect(fs.existsSync(`${second.dir}/credentials/x_api.json`)).toBe(false);
    await expectFirstAppUntouched();

    const log = engine.statementLog;
    if (log === undefined) {
      process.stderr.write(`adoption test (${engine.title}): no server log; checked the catalog only\n`);
      return;
    }
    // The filter does see dbwarden's writes: the first app's apply logged its own.
    const changes = (st: string) => st.includes(base) && engine.changeStatement.test(st);
    expect(log.statements().filter((st) => st.includes(owner) && changes(st)).length).toBeGreaterThan(0);
    const written = (await log.statementsAfter(marker)).filter(changes);
    expect(written).toEqual([]);
  });

  it('the same collision for a component without databases (before: forbid login, revoke every grant)', async () => {
    const second = await deploy(base, { x_api: undefined, web: { users: ['select'] } });
    const planned = await second.cli('plan');
    expect(planned.code).toBe(2);
    expect(planned.stderr).toContain(`role ${login} belongs to app ${owner}`);
    expect(planned.stdout).not.toContain('forbid login');
    const applied = await second.cli('apply');
    expect(applied.code).toBe(2);
    expect(await engine.accounts(`${base}_web`)).toEqual([]);
    await expectFirstAppUntouched();
  });

  it('an app whose names do not collide manages its own roles and leaves the first app’s alone', async () => {
    const second = await deploy(base, { web: { users: ['select'] } });
    const planned = await second.cli('plan');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(`create login ${base}_web`);
    expect(planned.stdout).not.toContain(owner);
    const applied = await second.cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect((await engine.accounts(`${base}_web`)).map((a) => [a.name, a.mark])).toEqual([
      [`${base}_web`, engine.expectedMark(base)],
      [`${base}_web_role`, engine.expectedMark(base)],
    ]);
    expect((await second.cli('verify')).code).toBe(0);
    expect((await second.cli('plan', '--exit-code')).code).toBe(0);
    await expectFirstAppUntouched();
  });
});
