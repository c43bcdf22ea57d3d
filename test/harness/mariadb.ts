/**
 * One throwaway MySQL-family server (MariaDB or MySQL) for the integration tests, started once per run
 * by global-setup.ts. Same structure as postgres.ts.
 *
 * Sources, tried in this order; the first that works is used and one line on stderr says which and why:
 *   env             DBWARDEN_TEST_MYSQL_URL=mysql://root:<pw>@host:port/mysql (an account with every
 *                   privilege WITH GRANT OPTION over TCP; used as is, never stopped, no log file; when set
 *                   but unusable, the run fails instead of falling back).
 *   testcontainers  when a container runtime answers a ping within ~1.5 s (see server-common.ts). Image:
 *                   DBWARDEN_TEST_MYSQL_IMAGE (default mysql:8.4); the general log goes to the
 *                   container's stdout, which is copied into a local file.
 *   local           MariaDB's `mariadbd` and `mariadb-install-db` (PATH, /usr/sbin, /usr/bin, or
 *                   DBWARDEN_TEST_MARIADB_BINDIR); when missing and root, `apt-get install mariadb-server`
 *                   first. Data, socket and logs in a fresh temp dir, a free loopback port; as root the
 *                   server runs with --user=root.
 *
 * DBWARDEN_TEST_MYSQL_SOURCE=env|testcontainers|local forces one source (no fallback).
 *
 * Whatever the source: root with a random password over TCP (mysql_native_password on MariaDB), and the
 * general log (every statement the server receives) in a readable file where possible.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import {
  errorText,
  freePort,
  isRoot,
  logTail,
  newPassword,
  probeContainerRuntime,
  redact,
  startFirstServer,
  type StartedServer,
  Unavailable,
} from './server-common.js';
import { aptInstall, findMariadbBinaries, type MariadbBinaries } from './system-packages.js';
import { REQUIREMENTS } from './test-requirements.js';

export interface MysqlServer {
  /** mysql://root:<pw>@127.0.0.1:<port>/mysql */
  adminUrl: string;
  /** The general log (every statement received), or undefined when it cannot be read. */
  logFile: string | undefined;
  source: 'env' | 'testcontainers' | 'local';
  /** From VERSION(): MariaDB says so in its version string. */
  flavor: 'mariadb' | 'mysql';
  /** VERSION(), e.g. "10.11.19-MariaDB-0+deb12u1-log". */
  version: string;
  stop(): Promise<void>;
}

type Source = MysqlServer['source'];
const SOURCES: readonly Source[] = ['env', 'testcontainers', 'local'];

const MAX_CONNECTIONS = 300;

export async function startMariadb(): Promise<MysqlServer> {
  const { server, source, version, why, seconds } = await startFirstServer<Source>({
    label: 'MariaDB/MySQL',
    sourceVariable: 'DBWARDEN_TEST_MYSQL_SOURCE',
    sources: SOURCES,
    urlVariable: 'DBWARDEN_TEST_MYSQL_URL',
    urlRequirements: 'an account with all privileges WITH GRANT OPTION, over TCP',
    start: {
      env: () => useEnvUrl(process.env.DBWARDEN_TEST_MYSQL_URL),
      testcontainers: startTestcontainers,
      local: startLocal,
    },
    serverVersion,
    fixes: [
      '  - install MariaDB: as root on Debian/Ubuntu, `apt-get update && apt-get install -y --no-install-recommends mariadb-server`',
      '    (the tests run mariadbd themselves on a free port; the package service need not run);',
      '  - start a container runtime (Docker or Podman) that testcontainers can reach;',
      '  - or set DBWARDEN_TEST_MYSQL_URL=mysql://root:<password>@127.0.0.1:3306/mysql (all privileges WITH GRANT OPTION).',
      '  To run the PostgreSQL tests only: DBWARDEN_TEST_ENGINES=postgres.',
    ],
  });
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  process.stderr.write(
    `mariadb: ${server.description}${why}; ${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${version}, ready in ${seconds} s` +
      `${server.logFile ? `, general log ${server.logFile}` : ', no log file'}\n`,
  );
  return { adminUrl: server.adminUrl, logFile: server.logFile, source, flavor, version, stop: server.stop };
}

// ---------------------------------------------------------------------------------------------- env

async function useEnvUrl(url: string | undefined): Promise<StartedServer> {
  if (url === undefined || url === '') throw new Unavailable('DBWARDEN_TEST_MYSQL_URL not set');
  await waitForConnection({ uri: url }, 10_000, undefined, undefined);
  return {
    description: `DBWARDEN_TEST_MYSQL_URL (${redact(url)})`,
    adminUrl: url,
    logFile: undefined,
    stop: () => Promise.resolve(),
  };
}

// ----------------------------------------------------------------------------------- testcontainers

async function startTestcontainers(): Promise<StartedServer> {
  const endpoint = await probeContainerRuntime();
  const { MySqlContainer } = await import('@testcontainers/mysql');
  const image = process.env.DBWARDEN_TEST_MYSQL_IMAGE || 'mysql:8.4';
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-mysql-'));
  const logFile = path.join(dir, 'general.log');
  const log = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const password = newPassword();
  try {
    const container = await new MySqlContainer(image)
      .withRootPassword(password)
      .withCommand([
        // The general log to stdout, which the log consumer copies into logFile.
        '--general-log=1',
        '--general-log-file=/dev/stdout',
        `--max-connections=${MAX_CONNECTIONS}`,
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0',
        '--character-set-server=utf8mb4',
      ])
      .withLogConsumer((stream) => stream.pipe(log, { end: false }))
      .start();
    const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
    const adminUrl = `mysql://root:${password}@${host}:${container.getPort()}/mysql`;
    return {
      description: `testcontainers ${image} via ${endpoint}`,
      adminUrl,
      logFile,
      stop: async () => {
        await container.stop();
        await new Promise<void>((resolve) => log.end(resolve));
        await fsp.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    log.end();
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

// ------------------------------------------------------------------------------------ local binaries

/** Environment for the server processes: no MYSQL_* variables from the caller, English messages. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MYSQL')) env[k] = v;
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

function run(
  file: string,
  args: string[],
  opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(
          new Error(
            `${path.basename(file)} ${args.join(' ')} exited with ${code ?? signal ?? '?'}: ${output.trim().split('\n').slice(-20).join('\n')}`,
          ),
        );
    });
  });
}

async function startLocal(): Promise<StartedServer> {
  let binaries = findMariadbBinaries();
  if (binaries === undefined) {
    if (process.env.DBWARDEN_TEST_MARIADB_BINDIR) {
      throw new Unavailable(
        `DBWARDEN_TEST_MARIADB_BINDIR=${process.env.DBWARDEN_TEST_MARIADB_BINDIR} has no mariadbd and mariadb-install-db`,
      );
    }
    if (!isRoot()) {
      throw new Unavailable(
        'mariadbd or mariadb-install-db not found, and not root to install mariadb-server',
      );
    }
    try {
      process.stderr.write(
        'mariadb: mariadbd not found; installing mariadb-server with apt-get (running as root)\n',
      );
      await aptInstall(REQUIREMENTS.mariadb.packages);
    } catch (err) {
      throw new Unavailable(
        `mariadbd not found, and apt-get could not install mariadb-server: ${errorText(err)}`,
      );
    }
    binaries = findMariadbBinaries();
    if (binaries === undefined) {
      throw new Unavailable(
        'apt-get installed mariadb-server, but mariadbd or mariadb-install-db is still missing',
      );
    }
  }
  return startFromBinaries(binaries);
}

/** The mysql_native_password hash of a password: '*' and SHA1(SHA1(password)) in upper-case hex. */
function nativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

async function startFromBinaries({ mariadbd, installDb }: MariadbBinaries): Promise<StartedServer> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-mariadb-'));
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  const logFile = path.join(dir, 'general.log');
  const errorLog = path.join(dir, 'error.log');
  // The server's temporary tables and files in its own directory, not the machine's shared /tmp
  // (where other runs' clean-ups and servers are; a temporary table's file vanishing under the
  // server failed statements and crashed mariadbd under parallel runs).
  const tmpDir = path.join(dir, 'tmp');
  const userArgs = isRoot() ? ['--user=root'] : [];
  const password = newPassword();
  let child: ChildProcess | undefined;

  const stopSync = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await fsp.mkdir(tmpDir);
    await run(
      installDb,
      [
        '--no-defaults',
        ...userArgs,
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );

    // The free port can be taken between our probe and the server's bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = spawn(
        mariadbd,
        [
          '--no-defaults',
          ...userArgs,
          `--datadir=${dataDir}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${socket}`,
          `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
          `--log-error=${errorLog}`,
          `--tmpdir=${tmpDir}`,
          '--general-log=1',
          `--general-log-file=${logFile}`,
          '--log-output=FILE',
          '--skip-name-resolve',
          `--max-connections=${MAX_CONNECTIONS}`,
          '--character-set-server=utf8mb4',
          '--collation-server=utf8mb4_unicode_ci',
          // Throwaway data: durability only costs time.
          '--innodb-flush-log-at-trx-commit=0',
          '--innodb-doublewrite=0',
          '--innodb-buffer-pool-size=128M',
        ],
        { cwd: dir, env: serverEnv(), stdio: 'ignore' },
      );
      child = server;
      const exited = new Promise<string>((resolve) => {
        server.once('exit', (code, signal) => resolve(`mariadbd exited with ${code ?? signal ?? '?'}`));
        server.once('error', (err) => resolve(`mariadbd could not start: ${err.message}`));
      });
      try {
        // root@localhost over the socket, without a password (install-db's "normal" authentication).
        await waitForConnection({ socketPath: socket, user: 'root' }, 60_000, errorLog, exited);
      } catch (err) {
        const tail = await logTail(errorLog);
        stopChild(server);
        child = undefined;
        if (attempt < 3 && /Can't start server: Bind|Address already in use/i.test(tail)) continue;
        throw new Error(`${errorText(err)}\n--- error log (tail) ---\n${tail}`);
      }
      await secureRoot(socket, password);
      const adminUrl = `mysql://root:${password}@127.0.0.1:${port}/mysql`;
      await waitForConnection({ uri: adminUrl }, 30_000, errorLog, exited);
      process.once('exit', stopSync);
      return {
        description: `local mariadbd ${mariadbd}${isRoot() ? ' (--user=root)' : ''}`,
        adminUrl,
        logFile,
        stop: async () => {
          process.removeListener('exit', stopSync);
          try {
            if (child) await stopGracefully(child, exited);
            child = undefined;
          } finally {
            stopSync();
          }
        },
      };
    }
  } catch (err) {
    stopSync();
    throw err;
  }
}

/**
 * TCP access for root with a random password (mysql_native_password); no anonymous users, and no
 * root at the machine's host name or ::1 (unused with skip-name-resolve and a 127.0.0.1 bind).
 * sql_log_off keeps these statements out of the general log.
 */
async function secureRoot(socket: string, password: string): Promise<void> {
  const hash = nativePasswordHash(password);
  const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
  try {
    await c.query('SET SESSION sql_log_off = 1');
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "SELECT user AS u, host AS h FROM mysql.user WHERE user = '' OR (user = 'root' AND host NOT IN ('localhost', '127.0.0.1'))",
    );
    for (const row of rows) {
      await c.query('DROP USER ?@?', [String(row.u), String(row.h)]);
    }
    for (const host of ['127.0.0.1', '%']) {
      await c.query('CREATE USER IF NOT EXISTS ?@?', ['root', host]);
      await c.query('ALTER USER ?@? IDENTIFIED VIA mysql_native_password USING ?', ['root', host, hash]);
      await c.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', ['root', host]);
    }
  } finally {
    await c.end();
  }
}

function stopChild(server: ChildProcess): void {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
}

/** SIGTERM (mariadbd shuts down cleanly), then SIGKILL after 30 s. */
async function stopGracefully(server: ChildProcess, exited: Promise<string>): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  server.kill('SIGTERM');
  const timer = setTimeout(() => stopChild(server), 30_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------- helpers

type Target = { uri: string } | { socketPath: string; user: string };

function describeTarget(target: Target): string {
  return 'uri' in target ? redact(target.uri) : `socket ${target.socketPath}`;
}

/**
 * Polls until a connection succeeds; errors with the last failure and the log's tail. `exited` resolves
 * when the server process is gone, which ends the wait at once.
 */
async function waitForConnection(
  target: Target,
  timeoutMs: number,
  logFile: string | undefined,
  exited: Promise<string> | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: string | undefined;
  void exited?.then((why) => (gone = why));
  for (;;) {
    try {
      const c = await mysql.createConnection({ ...target, connectTimeout: 5_000 });
      try {
        await c.query('SELECT 1');
        return;
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Wrong credentials or database will not fix themselves.
      const permanent = code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR';
      if (permanent || gone !== undefined || Date.now() > deadline) {
        const tail = logFile ? `\n--- server log (tail) ---\n${await logTail(logFile)}` : '';
        throw new Error(`cannot connect to ${describeTarget(target)}: ${gone ?? errorText(err)}${tail}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function serverVersion(url: string): Promise<string> {
  const c = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(rows[0]?.v ?? 'unknown');
  } finally {
    await c.end();
  }
}
