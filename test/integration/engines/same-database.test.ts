/**
 * Two targets that reach one database through different host names (here
 * 127.0.0.1 and localhost) would each take dbwarden's run lock there and wait
 * for the other until --lock-wait, then blame "another dbwarden run". The
 * servers' own identity shows they are one database: exit 2 naming both
 * targets, before anything is written. On every engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, uniqueName } from '../../harness/databases.js';
import { ENGINES } from '../../harness/engines.js';
import { runCli, writeDeployment, writePolicy } from './scenario.js';

describe.each(ENGINES)('two targets on one database under two host names on $title', (engine) => {
  const app = uniqueName('t').slice(0, 16);
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await engine.createDatabase();
    await engine.query(db.url, 'create table t (id int); create table a (id int);');
    dir = writeDeployment(app, [
      { name: 'main1', kind: 'main', urlVariable: 'MAIN_URL' },
      { name: 'main2', kind: 'audit', urlVariable: 'AUDIT_URL' },
    ]);
    writePolicy(dir, 'api', { main: { t: ['select'] }, audit: { a: ['select'] } });
  });
  afterAll(async () => {
    await db.drop();
    await engine.dropRolesWithPrefix(`${app}_`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('apply exits 2 at once naming both targets, and creates nothing', async () => {
    const url = new URL(db.url);
    expect(url.hostname).toBe('127.0.0.1');
    url.hostname = 'localhost';
    const env = { PATH: process.env.PATH, MAIN_URL: db.url, AUDIT_URL: url.toString() };
    const started = Date.now();
    const applied = await runCli(dir, env, ['apply', '--lock-wait', '5']);
    expect(applied.code, applied.stderr).toBe(2);
    expect(applied.stderr).toContain(
      `targets main1 and main2 are the same database "${db.name}" on one server (as the server reports it)`,
    );
    expect(applied.stderr).not.toContain('another dbwarden run');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await engine.accounts(`${app}_`)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'credentials'))).toBe(false);
  });
});
