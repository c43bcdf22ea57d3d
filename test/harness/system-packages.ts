/**
 * The machine side of test-requirements.ts: probes for what the tests run (PostgreSQL and MariaDB
 * binaries, Nova under /usr/bin/python3) and `apt-get install` as root. Probes only look: no
 * apt call, well under a second when everything is there.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ProbeResult, RequirementId } from './test-requirements.js';

/** Debian's interpreter, the one that sees python3-nova (another python3 on PATH does not). */
export const NOVA_PYTHON = '/usr/bin/python3';

const NOVA_PROBE = 'import nova, psycopg2, pymysql, importlib.metadata as m; print(m.version("nova"))';

/** /usr/lib/postgresql/<version>/bin/postgres, newest version first. */
export function findPostgresServers(root = '/usr/lib/postgresql'): string[] {
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return [];
  }
  return versions
    .map((v) => path.join(root, v, 'bin', 'postgres'))
    .filter((file) => isExecutable(file))
    .sort()
    .reverse();
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findBinary(names: readonly string[], dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

export interface MariadbBinaries {
  readonly mariadbd: string;
  readonly installDb: string;
}

/** mariadbd and mariadb-install-db on PATH or the usual places, or in DBWARDEN_TEST_MARIADB_BINDIR. */
export function findMariadbBinaries(): MariadbBinaries | undefined {
  const override = process.env.DBWARDEN_TEST_MARIADB_BINDIR;
  const dirs = override
    ? [override]
    : [
        ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''),
        '/usr/sbin',
        '/usr/bin',
        '/usr/local/sbin',
        '/usr/local/bin',
      ];
  const mariadbd = findBinary(['mariadbd'], dirs);
  const installDb = findBinary(['mariadb-install-db'], [...dirs, '/usr/scripts', '/usr/local/mysql/scripts']);
  return mariadbd && installDb ? { mariadbd, installDb } : undefined;
}

/** Nova's version when /usr/bin/python3 imports nova, psycopg2 and pymysql; else why not. */
export function probeNovaPython(): ProbeResult {
  const probe = spawnSync(NOVA_PYTHON, ['-c', NOVA_PROBE], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error === undefined && probe.status === 0) {
    return { present: true, detail: `nova ${probe.stdout.trim()} (${NOVA_PYTHON})` };
  }
  const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').slice(-1)[0] ?? '');
  return { present: false, detail: `${NOVA_PYTHON} cannot import nova, psycopg2 and pymysql: ${why}` };
}

/** The probe planSetup and checkInstalled use on this machine. */
export function probeMachine(id: RequirementId): ProbeResult {
  switch (id) {
    case 'postgresql': {
      const servers = findPostgresServers();
      return servers.length > 0
        ? { present: true, detail: servers.join(', ') }
        : { present: false, detail: 'no /usr/lib/postgresql/*/bin/postgres' };
    }
    case 'mariadb': {
      const found = findMariadbBinaries();
      return found
        ? { present: true, detail: `${found.mariadbd}, ${found.installDb}` }
        : { present: false, detail: 'no mariadbd and mariadb-install-db on PATH, /usr/sbin or /usr/bin' };
    }
    case 'nova':
      return probeNovaPython();
  }
}

export function hasAptGet(): boolean {
  return findBinary(['apt-get'], ['/usr/bin', '/bin']) !== undefined;
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * As root: `apt-get update`, then `apt-get install` of `packages`, their output on stderr. The
 * packages' own services (PostgreSQL's "main" cluster, MariaDB on 3306, open-iscsi and friends
 * pulled in by python3-nova) are never used: a temporary policy-rc.d (exit 101) keeps them from
 * starting, unless the machine already has one of its own.
 */
export async function aptInstall(packages: readonly string[]): Promise<void> {
  const ownPolicy = !fs.existsSync(POLICY_RC);
  if (ownPolicy) {
    await fsp.writeFile(
      POLICY_RC,
      '#!/bin/sh\n# dbwarden tests: do not start services while installing\nexit 101\n',
      {
        mode: 0o755,
      },
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', LANG: 'C' };
  try {
    await runToStderr('apt-get', ['update', '-q'], env);
    await runToStderr('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], env);
  } finally {
    if (ownPolicy) await fsp.rm(POLICY_RC, { force: true });
  }
}

function runToStderr(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: os.tmpdir(), env, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code ?? signal ?? '?'}`));
    });
  });
}
