/**
 * What the throwaway-server harnesses (postgres.ts, mariadb.ts) share: the container runtime probe,
 * free ports, passwords, log tails, and redaction of URLs before they reach any message.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A source that is not available here; its message says why (used in the stderr line and errors). */
export class Unavailable extends Error {}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** 36 hex characters: safe in URLs and SQL literals without escaping. */
export function newPassword(): string {
  return randomBytes(18).toString('hex');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

export async function logTail(file: string, lines = 30): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
  } catch (err) {
    return `(no log: ${errorText(err)})`;
  }
}

/** The URL with its password replaced by ***: the only form of a URL any message may show. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}

export function errorText(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(errorText).join('; ') || err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Finds a container runtime endpoint that answers `/_ping` within a short timeout, the way testcontainers
 * would find one, without loading testcontainers (which can take a long time to give up when none runs).
 * Throws Unavailable when none answers.
 */
export async function probeContainerRuntime(): Promise<string> {
  const candidates: { label: string; host: string }[] = [];
  if (process.env.DOCKER_HOST) candidates.push({ label: 'DOCKER_HOST', host: process.env.DOCKER_HOST });
  const propertiesHost = readTestcontainersProperties()['docker.host'];
  if (propertiesHost) candidates.push({ label: '~/.testcontainers.properties', host: propertiesHost });
  const sockets = [
    '/var/run/docker.sock',
    process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'docker.sock') : undefined,
    path.join(os.homedir(), '.docker', 'run', 'docker.sock'),
    path.join(os.homedir(), '.docker', 'desktop', 'docker.sock'),
    `/run/user/${os.userInfo().uid}/docker.sock`,
  ];
  for (const socket of new Set(sockets)) {
    if (socket !== undefined && fs.existsSync(socket))
      candidates.push({ label: socket, host: `unix://${socket}` });
  }
  if (candidates.length === 0) {
    throw new Unavailable('no container runtime answered (DOCKER_HOST unset, no docker socket found)');
  }
  const results = await Promise.all(
    candidates.map(async (c) => ({ ...c, problem: await pingDocker(c.host, 1500) })),
  );
  const answering = results.find((r) => r.problem === undefined);
  if (answering) return `${answering.label} (${answering.host})`;
  throw new Unavailable(
    `no container runtime answered (${results.map((r) => `${r.label}: ${r.problem ?? ''}`).join(', ')})`,
  );
}

function readTestcontainersProperties(): Record<string, string> {
  const file = path.join(os.homedir(), '.testcontainers.properties');
  const result: Record<string, string> = {};
  if (!fs.existsSync(file)) return result;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = /^\s*([\w.]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) result[match[1]] = match[2];
  }
  return result;
}

/** Resolves to undefined when the endpoint answers, else to a short reason. Never rejects. */
function pingDocker(host: string, timeoutMs: number): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return Promise.resolve(`cannot parse ${host}`);
  }
  if (url.protocol === 'tcp:' && process.env.DOCKER_TLS_VERIFY === '1') {
    // TLS needs the client certificates; a TCP connect is a good enough sign of life here.
    return new Promise((resolve) => {
      const socket = net.connect({ host: url.hostname, port: Number(url.port || 2376) });
      socket.setTimeout(timeoutMs, () => {
        socket.destroy();
        resolve(`no answer within ${timeoutMs} ms`);
      });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (err) => resolve(err.message));
    });
  }
  const options: http.RequestOptions =
    url.protocol === 'unix:'
      ? { socketPath: url.pathname, path: '/_ping' }
      : url.protocol === 'tcp:' || url.protocol === 'http:'
        ? { host: url.hostname, port: Number(url.port || 2375), path: '/_ping' }
        : {};
  if (options.path === undefined) return Promise.resolve(`unsupported scheme ${url.protocol}`);
  return new Promise((resolve) => {
    const req = http.get({ ...options, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode ?? '?'}`);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(`no answer within ${timeoutMs} ms`);
    });
    req.once('error', (err) => resolve(err.message));
  });
}

/** A server one source started: how to reach it, its statement log, and how to stop it. */
export interface StartedServer {
  adminUrl: string;
  logFile: string | undefined;
  /** What was started, for the stderr line, e.g. "local binaries /usr/lib/postgresql/15/bin". */
  description: string;
  stop(): Promise<void>;
}

/** The source forced by an environment variable, if any; a value not in `sources` is an error. */
export function forcedSource<S extends string>(variable: string, sources: readonly S[]): S | undefined {
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  const found = sources.find((s) => s === value);
  if (found === undefined) throw new Error(`${variable}=${value} is not one of ${sources.join(', ')}`);
  return found;
}

export interface ServerSearch<S extends string> {
  /** For messages: "PostgreSQL", "MariaDB/MySQL". */
  readonly label: string;
  /** DBWARDEN_TEST_PG_SOURCE, ...: forces one source. */
  readonly sourceVariable: string;
  readonly sources: readonly S[];
  /** DBWARDEN_TEST_PG_URL, ...: the `env` source; an unusable one fails the run instead of falling through. */
  readonly urlVariable: string;
  /** What that URL must be, e.g. "a superuser, password authentication over TCP". */
  readonly urlRequirements: string;
  readonly start: Readonly<Record<S, () => Promise<StartedServer>>>;
  readonly serverVersion: (adminUrl: string) => Promise<string>;
  /** Lines after "Fix one of:" when no source works. */
  readonly fixes: readonly string[];
}

/**
 * Tries the sources in order (or only the forced one) and returns the first
 * server that starts and answers, with why the earlier ones were passed over.
 * Never skips the tests: no server at all is an error saying how to get one.
 */
export async function startFirstServer<S extends string>(
  search: ServerSearch<S>,
): Promise<{ server: StartedServer; source: S; version: string; why: string; seconds: string }> {
  const started = performance.now();
  const forced = forcedSource(search.sourceVariable, search.sources);
  const skipped: string[] = [];
  for (const source of search.sources) {
    if (forced !== undefined && source !== forced) continue;
    let server: StartedServer;
    try {
      server = await search.start[source]();
    } catch (err) {
      if (source === 'env' && !(err instanceof Unavailable)) {
        // An explicit choice: falling back to another server would hide the mistake.
        throw new Error(
          `${search.urlVariable} is set but unusable: ${errorText(err)}\n` +
            `Fix the URL (${search.urlRequirements}) or unset it to let the tests start a server.`,
        );
      }
      skipped.push(`${source}: ${err instanceof Unavailable ? err.message : `failed: ${errorText(err)}`}`);
      continue;
    }
    try {
      const version = await search.serverVersion(server.adminUrl);
      const why =
        skipped.length > 0
          ? ` (${skipped.join('; ')})`
          : forced
            ? ` (forced by ${search.sourceVariable})`
            : '';
      return { server, source, version, why, seconds: ((performance.now() - started) / 1000).toFixed(1) };
    } catch (err) {
      await server.stop().catch((stopErr: unknown) => {
        skipped.push(`${source}: could not stop after failure: ${errorText(stopErr)}`);
      });
      skipped.push(`${source}: started but did not answer: ${errorText(err)}`);
    }
  }
  throw new Error(
    [
      forced
        ? `Could not start ${search.label} for the integration tests from the source forced by ${search.sourceVariable}=${forced}:`
        : `Could not start ${search.label} for the integration tests. Tried, in order:`,
      ...skipped.map((s) => `  - ${s}`),
      'Fix one of:',
      ...search.fixes,
    ].join('\n'),
  );
}
