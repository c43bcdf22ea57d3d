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
