/**
 * OpenStack Nova in the tests: Nova's own schema, made by Nova's own migrations, and Nova's own
 * Python code run as the logins dbwarden made (test/integration/nova/).
 *
 * Nova comes from Debian's python3-nova (Nova 26, Zed), run through /usr/bin/python3, the Debian
 * interpreter: another python3 on PATH (pyenv, a venv) does not see the package. `npm test`
 * installs it as root; without it the tests fail and say how to install it (they never skip).
 *
 * The Python scripts live in test/fixtures/nova/. Each takes one JSON document on stdin and prints
 * one on stdout: connection URLs and passwords never appear in argv, and whatever a script prints
 * on a failure is redacted again here before it reaches a test message.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from './databases.js';
import type { TestEngine } from './engines.js';
import { NOVA_PYTHON, probeNovaPython } from './system-packages.js';
import { installCommand, REQUIREMENTS } from './test-requirements.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NOVA_FIXTURES = path.join(root, 'test/fixtures/nova');

export { NOVA_PYTHON };

/** What `npm test` installs as root when /usr/bin/python3 cannot import nova (test-requirements.ts). */
export const NOVA_PACKAGES = REQUIREMENTS.nova.packages;

/**
 * Tables the shipped policies grant that Nova 26 (Zed), the version the tests migrate, does not
 * have yet: each is checked absent from the migrated schema (so this list goes stale loudly when
 * Debian's Nova catches up) and present in the current Nova schema (test/fixtures/nova/
 * nova-tables.json). The tests apply the policies without them; operators on such an old Nova
 * remove them too (docs/nova.md).
 */
export const NEWER_THAN_ZED: Readonly<Record<'api' | 'main', Readonly<Record<string, string>>>> = {
  api: {},
  main: {
    share_mapping:
      'alembic revision 13863f4e1612 (create_share_mapping_table), after Zed; the server shares API of Nova 2024.2',
  },
};

/**
 * Fails, with the fix, unless /usr/bin/python3 can import Nova and both database drivers: the Nova
 * tests never skip. `npm test` installs them first as root (ensure-packages.ts); a direct
 * `npx vitest run test/integration/nova`, or a non-root user, gets the command here.
 */
export function requireNovaPython(): string {
  const probe = probeNovaPython();
  if (probe.present) return probe.detail;
  throw new Error(novaMissingMessage(probe.detail));
}

/** The failure of requireNovaPython: what is missing and the one command that fixes it. */
export function novaMissingMessage(detail: string): string {
  return [
    `The Nova tests run OpenStack Nova's own code, but ${detail}.`,
    `Fix: as root, run: ${installCommand(NOVA_PACKAGES)}`,
    '(Debian 12 ships Nova 26 "Zed"; `npm test` runs this itself when run as root).',
    "Another python3 on PATH (pyenv, a venv) does not see Debian's package: the tests always use /usr/bin/python3.",
  ].join('\n');
}

/** Replaces each secret (and its URL-encoded form) by <redacted>, then any user:password@ in a URL. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const all = new Set<string>();
  for (const s of secrets) {
    if (s === '') continue;
    all.add(s);
    all.add(encodeURIComponent(s));
  }
  for (const s of [...all].sort((a, b) => b.length - a.length)) out = out.split(s).join('<redacted>');
  return out.replace(/(\w[\w+.-]*:\/\/)[^/@\s:]*:[^@\s]*@/g, '$1<user>:<redacted>@');
}

/** The password inside a URL ('' when none). */
export function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

export interface NovaScriptRun<T> {
  readonly result: T;
  /** stderr, redacted (Nova's warnings and log lines). */
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * Runs test/fixtures/nova/<script> through /usr/bin/python3 with `input` as JSON on stdin, and
 * returns its JSON output. A crash, a timeout or output that is not JSON rejects with the
 * script's stderr, redacted with `secrets`.
 */
export function runNovaScript<T>(
  script: string,
  input: unknown,
  options: { secrets: readonly string[]; timeoutMs: number },
): Promise<NovaScriptRun<T>> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NOVA_PYTHON, [path.join(NOVA_FIXTURES, script)], {
      // Only what Python needs: no inherited secrets, no pyenv/venv settings.
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: process.env.HOME ?? '/tmp',
        PYTHONDONTWRITEBYTECODE: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${NOVA_PYTHON} ${script}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const cleanErr = redact(stderr, options.secrets);
      const seconds = (performance.now() - started) / 1000;
      const fail = (why: string) =>
        reject(new Error(`${NOVA_PYTHON} ${script} ${why}\n--- stderr (tail) ---\n${cleanErr.slice(-4000)}`));
      if (signal !== null) return fail(`was killed (${signal}) after ${seconds.toFixed(1)} s`);
      if (code !== 0) return fail(`exited ${String(code)}`);
      try {
        resolve({ result: JSON.parse(stdout) as T, stderr: cleanErr, seconds });
      } catch {
        fail(`printed no JSON document (${stdout.length} bytes on stdout)`);
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

export interface NovaDatabases {
  readonly api: TestDatabase;
  readonly cell0: TestDatabase;
  readonly cell1: TestDatabase;
  /** How long Nova's migrations took, in seconds (all three databases, in parallel). */
  readonly migrationSeconds: number;
  drop(): Promise<void>;
}

interface MigrateResult {
  results: {
    database: string;
    command: string;
    ok: boolean;
    exitCode: number;
    seconds: number;
    output: string;
  }[];
}

/**
 * Three fresh databases on the engine's server (nova_api, nova_cell0, nova_cell1 in a real
 * deployment), with Nova's own schema: `nova-manage api_db sync` on the first and
 * `nova-manage db sync --local_cell` on the cells, run by Nova itself as the server's admin.
 * Nothing is cached: every run migrates empty databases, so a broken migration fails the test.
 */
export async function createNovaDatabases(engine: TestEngine): Promise<NovaDatabases> {
  const api = await engine.createDatabase();
  const cell0 = await engine.createDatabase();
  const cell1 = await engine.createDatabase();
  const drop = async () => {
    for (const db of [api, cell0, cell1]) await db.drop();
  };
  try {
    const secrets = [passwordOf(engine.adminUrl())];
    const run = await runNovaScript<MigrateResult>(
      'nova_migrate.py',
      { api: api.url, cells: [cell0.url, cell1.url] },
      { secrets, timeoutMs: 300_000 },
    );
    const failed = run.result.results.filter((r) => !r.ok);
    if (failed.length > 0 || run.result.results.length !== 3) {
      throw new Error(
        redact(
          `Nova's migrations failed on ${engine.title}:\n` +
            failed
              .map((r) => `nova-manage ${r.command} on ${r.database} exited ${r.exitCode}:\n${r.output}`)
              .join('\n'),
          secrets,
        ),
      );
    }
    return { api, cell0, cell1, migrationSeconds: run.seconds, drop };
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  }
}

/** The tables of a database (PostgreSQL: schema public), sorted. */
export async function tablesOf(engine: TestEngine, db: TestDatabase): Promise<string[]> {
  const sql =
    engine.family === 'postgres'
      ? "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
      : "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'";
  const rows = await engine.query<{ t: string }>(db.url, sql);
  return rows.map((r) => String(r.t)).sort();
}

/** One statement of a Nova operation the server refused or Nova caught. */
export interface NovaDbError {
  readonly outcome: string;
  readonly code: string | null;
  readonly statement: string;
  readonly refused: string | null;
}

/** One Nova operation run by test/fixtures/nova/nova_workload.py. */
export interface NovaOp {
  readonly name: string;
  readonly expect: 'ok' | 'denied';
  /** ok | denied | auth | error, or caught-denied / caught-error when Nova swallowed a DB error. */
  readonly outcome: string;
  /** Driver error code: PostgreSQL SQLSTATE, MySQL error number. */
  readonly code: string | null;
  readonly error: string | null;
  readonly traceback?: string;
  /** For expect 'denied': the statement ('<verb> <table>') the server must refuse first. */
  readonly target: string | null;
  /** The first statement the server refused, from its error message. */
  readonly refused: string | null;
  /** '<verb> <table>' of every statement the operation sent. */
  readonly footprint: readonly string[];
  readonly dbErrors: readonly NovaDbError[];
  readonly seconds: number;
}

export interface NovaStep {
  readonly component: string;
  readonly title: string;
  readonly database: string;
  readonly apiDatabase: boolean;
  readonly ops: readonly NovaOp[];
  /** Calls that would leave the database (RPC, placement, neutron), replaced, with why. */
  readonly stubs: readonly string[];
  readonly fatal: string | null;
  readonly seconds: number;
}

/** Driver codes of a statement refused for lack of privileges, as the Python drivers report them. */
export function novaDeniedCodes(engine: TestEngine): readonly string[] {
  return engine.family === 'postgres' ? ['42501'] : ['1142', '1143'];
}

/** Reads the JSON credential files of a directory, for redaction: every password in them. */
export function credentialPasswords(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { password: string }).password);
}
