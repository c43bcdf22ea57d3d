/**
 * What an operator sees from `verify --secrets`, on every engine, through the
 * real CLI: failing rows summarized (counts, a few row ids, one verdict that
 * matches exit 3), progress lines off a terminal throttled to one per table,
 * and on a real terminal (a pty from util-linux `script`) log lines that never
 * share a line with the progress bar.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { screenLines } from '../../unit/cli/screen.js';
import { expectNothingLeaked, insertUsersSql, randomUsers, USERS_SECRETS } from './secret-users.js';
import { type CliRun, createScenario, type Scenario } from './scenario.js';

const KEY1 = randomBytes(32).toString('base64');
const PLAINTEXT_ROWS = 50;

describe.each(ENGINES)('verify --secrets output on $title', (engine) => {
  describe('a table of plaintext rows', () => {
    let s: Scenario;
    const originals = randomUsers(PLAINTEXT_ROWS);
    const outputs: string[] = [];
    const run = async (...args: string[]): Promise<CliRun> => {
      const result = await s.cli(...args);
      outputs.push(result.stdout, result.stderr);
      return result;
    };

    beforeAll(async () => {
      s = await createScenario(engine, {
        setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64));
                   ${insertUsersSql(originals)}`,
        policies: [{ component: 'api', tables: { users: ['select', 'update'] } }],
        config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
        env: { KEY1 },
      });
      // Roles and logins only: the values stay plaintext (upgrade would encrypt them).
      expect((await run('apply')).code).toBe(0);
    }, 120_000);
    afterAll(async () => {
      await s.cleanup();
    });

    it('counts the failing values per column, shows the first 5 row ids, and ends with one FAILED verdict (exit 3)', async () => {
      const result = await run('verify', '--secrets', '--batch-size', '5');
      expect(result.code).toBe(3);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines).toEqual([
        'ok    api on main1: privileges equal the policy',
        `FAIL  secret main1: users.access_key: ${PLAINTEXT_ROWS} values not-encrypted, rows 1, 2, 3, 4, 5 and ${PLAINTEXT_ROWS - 5} more`,
        '        first: users.access_key, primary key 1: holds plaintext: run `dbwarden upgrade` to encrypt it',
        `FAIL  secret main1: users.secret_key: ${PLAINTEXT_ROWS} values not-encrypted, rows 1, 2, 3, 4, 5 and ${PLAINTEXT_ROWS - 5} more`,
        '        first: users.secret_key, primary key 1: holds plaintext: run `dbwarden upgrade` to encrypt it',
        '',
        `Verify: FAILED: privileges of 1 component equal their policies; ${2 * PLAINTEXT_ROWS} stored values in 1 table fail the check (${2 * PLAINTEXT_ROWS} not-encrypted) (exit 3).`,
        '  "dbwarden verify --secrets --format json" lists every failing value.',
      ]);
    });

    it('off a terminal, progress is one line for the table (not one per batch of 5), with the real total', async () => {
      const result = await run('verify', '--secrets', '--batch-size', '5');
      const progress = result.stderr.split('\n').filter((l) => l.startsWith('progress '));
      expect(progress).toEqual([
        expect.stringMatching(
          new RegExp(
            `^progress target=main1 table=users phase=decrypt done=${PLAINTEXT_ROWS} total=${PLAINTEXT_ROWS}( |$)`,
          ),
        ),
      ]);
      expect(result.stderr).toContain('target main1: verifying users\n');
    });

    it('--format json keeps every failure and adds their count and groups', async () => {
      const result = await run('verify', '--secrets', '--format', 'json');
      expect(result.code).toBe(3);
      const doc = JSON.parse(result.stdout) as {
        ok: boolean;
        components: unknown[];
        secrets: {
          ok: boolean;
          failureCount: number;
          failures: {
            target: string;
            table: string;
            column: string;
            primaryKey: string;
            problem: string;
            message: string;
          }[];
          groups: { column: string; problem: string; count: number; primaryKeys: string[] }[];
        };
      };
      expect(doc.ok).toBe(false);
      expect(doc.components).toHaveLength(1);
      expect(doc.secrets.ok).toBe(false);
      expect(doc.secrets.failureCount).toBe(2 * PLAINTEXT_ROWS);
      expect(doc.secrets.failures).toHaveLength(2 * PLAINTEXT_ROWS);
      expect(doc.secrets.failures[0]).toEqual({
        target: 'main1',
        table: 'users',
        column: 'access_key',
        primaryKey: '1',
        problem: 'not-encrypted',
        message: 'users.access_key, primary key 1: holds plaintext: run `dbwarden upgrade` to encrypt it',
      });
      expect(doc.secrets.groups).toEqual([
        {
          target: 'main1',
          table: 'users',
          column: 'access_key',
          problem: 'not-encrypted',
          count: PLAINTEXT_ROWS,
          primaryKeys: ['1', '2', '3', '4', '5'],
        },
        {
          target: 'main1',
          table: 'users',
          column: 'secret_key',
          problem: 'not-encrypted',
          count: PLAINTEXT_ROWS,
          primaryKeys: ['1', '2', '3', '4', '5'],
        },
      ]);
    });

    it('never printed a value or a key', () => {
      expect(outputs.join('')).toContain('not-encrypted');
      expectNothingLeaked(outputs, originals, [KEY1]);
    });
  });

  describe('on a terminal', () => {
    let s: Scenario;
    const users = randomUsers(3000);
    const tokens = randomUsers(1000);

    beforeAll(async () => {
      s = await createScenario(engine, {
        setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64));
                   CREATE TABLE tokens (id int primary key, access_key varchar(64), secret_key varchar(64));
                   ${insertUsersSql(users)};
                   ${insertUsersSql(tokens).replace('INTO users', 'INTO tokens')}`,
        policies: [{ component: 'api', tables: { users: ['select'], tokens: ['select'] } }],
        config: {
          secrets: [...USERS_SECRETS, { ...USERS_SECRETS[0], table: 'tokens' }],
          masterKey: { current: { id: 'k1', env: 'KEY1' } },
        },
        env: { KEY1 },
      });
      expect((await s.cli('upgrade')).code).toBe(0);
    }, 300_000);
    afterAll(async () => {
      await s.cleanup();
    });

    it('every log line is on a line of its own, never across the progress bar', async () => {
      const { code, output } = await inPty(s.binaryArgs('verify', '--secrets', '--batch-size', '50'), s);
      expect(code).toBe(0);
      // A bar was drawn on the terminal (cursor moves and clears), and log lines came while it was there.
      expect(output).toContain('decrypt main1/users [');
      expect(output).toContain('\u001b[');
      const screen = screenLines(output);
      expect(screen).toContain('target main1: verifying users');
      expect(screen).toContain('target main1: verifying tokens');
      expect(screen).toContain('ok    secrets: every stored value decrypts where it is');
      expect(screen).toContain('Verify: ok, 1 component checked; every stored value decrypts where it is.');
      // The second table's log line came while the first table's bar was drawn: it is above that bar.
      expect(screen.indexOf('target main1: verifying tokens')).toBeLessThan(
        screen.findIndex((l) => l.startsWith('decrypt main1/users [')),
      );
      for (const line of screen) expect(line).not.toMatch(/ETA.*target|rows\/s.*target|ETA.*Verify/);
      expect(screen.filter((l) => /^decrypt main1\/(users|tokens) \[/.test(l))).toEqual([
        expect.stringMatching(/^decrypt main1\/users \[█+\] 3000\/3000 rows /),
        expect.stringMatching(/^decrypt main1\/tokens \[█+\] 1000\/1000 rows /),
      ]);
    });
  });
});

/**
 * The command on a pseudo-terminal (util-linux `script`, Debian's bsdutils):
 * stdout and stderr both go to the terminal, as for an operator.
 */
function inPty(argv: readonly string[], s: Scenario): Promise<{ code: number; output: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, ...argv].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: s.dir,
      env: { ...s.env, TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) =>
      reject(
        new Error(`cannot run util-linux script (${err.message}): as root, apt-get install -y bsdutils`),
      ),
    );
    child.on('close', (code) => {
      resolve({ code: code ?? -1, output });
    });
  });
}
