/**
 * Each test server of the engine table is what the shared scenarios assume: an
 * admin with every privilege over TCP, passwords actually checked, every
 * statement in a log the tests can read, throwaway databases that come and go,
 * and cleanup that drops every role and login of a prefix.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../harness/databases.js';
import { ENGINES } from '../../harness/engines.js';

describe.each(ENGINES)('test server for $title', (engine) => {
  it('answers as an admin with every privilege over TCP, logging every statement', async () => {
    expect(engine.adminUrl().startsWith(`${engine.urlScheme}://`)).toBe(true);
    expect(engine.version).toMatch(/^\d+\./);
    expect(await engine.adminFacts()).toEqual({ overTcp: true, allPrivileges: true, logsStatements: true });
  });

  it('refuses a wrong password', async () => {
    const url = new URL(engine.adminUrl());
    url.password = 'certainly-not-the-password';
    await expect(engine.whoami(url.toString())).rejects.toMatchObject({ code: engine.authFailedCode });
  });

  it('has a statement log that shows the statements it ran, in order, multi-line ones whole', async () => {
    const log = engine.statementLog;
    const marker = `marker-${randomUUID()}`;
    const after = `after-${randomUUID()}`;
    await engine.query(engine.adminUrl(), `select '${marker}' as m`);
    await engine.query(engine.adminUrl(), `select\n  '${after}' as a`);
    const deadline = Date.now() + 10_000;
    let statements: string[] = [];
    while (Date.now() < deadline) {
      statements = (await log.statementsAfter(marker)).filter((st) => st.includes(after));
      if (statements.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(statements).toEqual([`select\n  '${after}' as a`]);
  });

  it('creates and drops throwaway databases, dropping open connections', async () => {
    const db = await engine.createDatabase();
    expect(db.name).toMatch(/^[a-z0-9_]{1,30}$/);
    // An idle session inside the database, left open on purpose.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const idle = engine
      .connect(db.url, async (c) => {
        await c.query('select 1');
        await held;
      })
      .catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await db.drop();
    release();
    await idle;
    await expect(engine.whoami(db.url)).rejects.toBeDefined();
  });

  it('drops roles and logins with a prefix, including what they own and were granted', async () => {
    const prefix = uniqueName('app').slice(0, 16);
    const db = await engine.createDatabase();
    try {
      await engine.makeAccountsForCleanup(prefix, db);
      expect((await engine.accounts(prefix)).length).toBeGreaterThanOrEqual(2);
      await engine.dropRolesWithPrefix(prefix);
      expect(await engine.accounts(prefix)).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});
