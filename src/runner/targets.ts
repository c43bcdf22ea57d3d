/**
 * Opening admin sessions on every target: URL resolution (inline or file),
 * engine choice, and closing everything again whatever happens.
 */
import fs from 'node:fs';
import { loginUrlProblem } from '../credentials/login-url.js';
import { InvalidInputError } from '../errors.js';
import { type AdminSession, type Dialect, knownCluster, type ServerIdentity } from '../dialects/dialect.js';
import {
  addressKey,
  databaseAddress,
  describeAddress,
  SAME_DATABASE_HINT,
} from '../dialects/database-address.js';
import { engineForScheme, urlScheme } from '../dialects/engines.js';
import { dialectFor } from '../dialects/registry.js';
import type { EngineName, Target } from '../policy/model.js';
import { compareText } from '../util/compare.js';

export interface OpenTarget {
  readonly target: Target;
  readonly dialect: Dialect;
  /** The admin URL: holds a password, never print it. */
  readonly url: string;
  readonly session: AdminSession;
  readonly identity: ServerIdentity;
}

/** The admin URL of a target, read from its file when it names one. */
export function targetUrl(target: Target): string {
  if (target.url.from === 'inline') return target.url.url;
  try {
    return fs.readFileSync(target.url.path, 'utf8').trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidInputError(`target ${target.name}: cannot read urlFile ${target.url.path} (${reason})`, {
      hint: 'mount the file, or give the URL inline with url:',
    });
  }
}

/** A target's admin URL and engine; exit 2 when either cannot be had. */
export function resolveTarget(target: Target): { url: string; engine: EngineName } {
  const url = targetUrl(target);
  return { url, engine: engineOf(target, url) };
}

function engineOf(target: Target, url: string): EngineName {
  const engine = target.engine ?? engineForScheme(urlScheme(url) ?? '');
  if (!engine) {
    throw new InvalidInputError(
      `target ${target.name}: the URL in ${describeSource(target)} has no known scheme`,
      {
        hint: 'use postgres://, postgresql://, mysql:// or mariadb://, or set engine:',
      },
    );
  }
  return engine;
}

function describeSource(target: Target): string {
  return target.url.from === 'file' ? target.url.path : 'url';
}

/**
 * Exit 2 naming the target when no component URL can be made from its admin
 * URL (an "@" after the host, a parameter that is not percent-encoded):
 * found before connecting, not after the roles were changed.
 */
function refuseUnusableUrl(target: Target, url: string): void {
  const problem = loginUrlProblem(url);
  if (problem === undefined) return;
  throw new InvalidInputError(
    `target ${target.name}: ${problem.message.replace(/^admin URL: /, '')}`,
    problem.hint === undefined ? {} : { hint: problem.hint },
  );
}

/** Sessions on every target, in name order. On any failure the ones already open are closed. */
export async function openTargets(targets: readonly Target[]): Promise<OpenTarget[]> {
  const sorted = [...targets].sort((a, b) => compareText(a.name, b.name));
  // Resolve every URL and engine first: bad input exits 2 before any connection.
  const resolved = sorted.map((target) => {
    const { url, engine } = resolveTarget(target);
    refuseUnusableUrl(target, url);
    return { target, url, dialect: dialectFor(engine) };
  });
  refuseSameDatabase(
    resolved.map(({ target, url }) => {
      const address = databaseAddress(url);
      return address && { target, key: addressKey(address), described: describeAddress(address) };
    }),
  );
  const open: OpenTarget[] = [];
  try {
    for (const { target, url, dialect } of resolved) {
      const session = await dialect.connectAdmin(url, target.name);
      try {
        open.push({ target, url, dialect, session, identity: await session.identify() });
      } catch (err) {
        await session.close();
        throw err;
      }
    }
    refuseUnknownServers(open);
    // Different URLs may still reach one database (localhost and 127.0.0.1): the servers say.
    refuseSameDatabase(
      open.map(({ target, identity }) =>
        knownCluster(identity.cluster)
          ? {
              target,
              key: JSON.stringify([identity.cluster, identity.database]),
              described: `database "${identity.database}" on one server (as the server reports it)`,
            }
          : undefined,
      ),
    );
  } catch (err) {
    await closeTargets(open);
    throw err;
  }
  return open;
}

/**
 * Targets share roles when their servers say they are one (the cluster id).
 * A server that could not say who it is may be the same as any other of its
 * engine: treated as its own, the role would be created twice and the second
 * CREATE fail; merged, a role would be missing on one server. So: exit 2
 * naming the targets, before anything is written, unless it is the only
 * target of its engine.
 */
export function refuseUnknownServers(
  targets: readonly {
    target: Pick<Target, 'name'>;
    dialect: Pick<Dialect, 'engine'>;
    identity: Pick<ServerIdentity, 'cluster'>;
  }[],
): void {
  for (const t of targets.filter((o) => !knownCluster(o.identity.cluster))) {
    const others = targets.filter((o) => o !== t && o.dialect.engine === t.dialect.engine);
    if (others.length === 0) continue;
    throw new InvalidInputError(
      `target ${t.target.name}: its ${t.dialect.engine} server does not say which server it is, so dbwarden cannot tell whether it holds the roles of target(s) ${others.map((o) => o.target.name).join(', ')}; nothing was changed`,
      {
        hint: `let the admin user of target ${t.target.name} read the server identity docs/${t.dialect.engine}.md names (or manage this target with a config of its own)`,
      },
    );
  }
}

/**
 * Two targets on one database would each take dbwarden's run lock there and
 * wait for the other until --lock-wait: exit 2 naming both, before anything
 * is written. Addresses hold no credentials.
 */
function refuseSameDatabase(
  targets: readonly ({ target: Target; key: string; described: string } | undefined)[],
): void {
  const first = new Map<string, Target>();
  for (const entry of targets) {
    if (entry === undefined) continue;
    const earlier = first.get(entry.key);
    if (earlier === undefined) {
      first.set(entry.key, entry.target);
      continue;
    }
    throw new InvalidInputError(
      `targets ${earlier.name} and ${entry.target.name} are the same ${entry.described}`,
      { hint: SAME_DATABASE_HINT },
    );
  }
}

export async function closeTargets(targets: readonly OpenTarget[]): Promise<void> {
  await Promise.all(targets.map((t) => t.session.close()));
}
