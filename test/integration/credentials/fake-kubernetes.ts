/**
 * A stand-in for the Kubernetes API server, for the Secret sink's tests: no
 * cluster exists on the machines these tests run on. It is a node:http server
 * on 127.0.0.1 (random port) that implements only the Secret calls dbwarden
 * makes, the way the real API server answers them:
 *
 *   GET   /api/v1/namespaces/{ns}/secrets/{name}   200, or 404 Status
 *   POST  /api/v1/namespaces/{ns}/secrets          201, 409 when it exists, 404 for an unknown namespace
 *   PATCH /api/v1/namespaces/{ns}/secrets/{name}   200 (strategic or JSON merge patch), 404 when absent
 *
 * plus what the real one checks that matters here: a bearer token (401),
 * RBAC denials chosen by the test (403, with the real Status message), data
 * keys, a basic-auth Secret holding a username or a password, and an
 * immutable `type` (422). Every request is recorded. `kubeconfig()` writes a
 * kubeconfig file (server http://127.0.0.1:port, a token user) to load the
 * client with.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { SecretObject } from '../../../src/credentials/kubernetes-api.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  /** Parsed JSON body (undefined for GET). */
  readonly body: unknown;
}

export interface FakeKubernetes {
  readonly url: string;
  readonly token: string;
  readonly requests: RecordedRequest[];
  /** Secrets by `${namespace}/${name}`; data values base64, as the API server keeps them. */
  readonly secrets: Map<string, SecretObject>;
  /** Namespaces that exist (POST elsewhere answers 404). */
  readonly namespaces: Set<string>;
  /** Denied verbs: "patch" (every Secret) or "patch nova-db-api" (one). */
  readonly forbidden: Set<string>;
  /** Puts a Secret in place as if someone else had created it (data given as plain text). */
  seed(namespace: string, secret: Omit<SecretObject, 'data'> & { data?: Record<string, string> }): void;
  /** A Secret's data, decoded. */
  dataOf(namespace: string, name: string): Record<string, string> | undefined;
  /** Writes a kubeconfig for this server into `dir`; returns its path. */
  kubeconfig(dir: string): string;
  close(): Promise<void>;
}

const KEY = /^[-._a-zA-Z0-9]+$/;
const SECRET_PATH = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/secrets(?:\/([a-z0-9.-]+))?$/;

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const requests: RecordedRequest[] = [];
  const secrets = new Map<string, SecretObject>();
  const namespaces = new Set(['nova']);
  const forbidden = new Set<string>();
  const token = 'test-token-not-a-secret';
  let version = 1;

  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const [pathname = ''] = (req.url ?? '').split('?');
      const method = req.method ?? '';
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      requests.push({
        method,
        path: pathname,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body,
      });
      const send = (code: number, value: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const status = (code: number, reason: string, message: string) =>
        send(code, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason,
          code,
        });

      if (req.headers.authorization !== `Bearer ${token}`) return status(401, 'Unauthorized', 'Unauthorized');
      const match = SECRET_PATH.exec(pathname);
      if (!match) return status(404, 'NotFound', 'the server could not find the requested resource');
      const [, namespace = '', name] = match;
      const verb =
        method === 'GET' ? 'get' : method === 'POST' ? 'create' : method === 'PATCH' ? 'patch' : '';
      if (verb === '' || (verb === 'create') !== (name === undefined)) {
        return status(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      }
      if (forbidden.has(verb) || (name !== undefined && forbidden.has(`${verb} ${name}`))) {
        return status(
          403,
          'Forbidden',
          `secrets${name === undefined ? '' : ` "${name}"`} is forbidden: User "system:serviceaccount:${namespace}:dbwarden" cannot ${verb} resource "secrets" in API group "" in the namespace "${namespace}"`,
        );
      }
      if (verb === 'get') {
        const secret = secrets.get(`${namespace}/${name}`);
        return secret ? send(200, secret) : status(404, 'NotFound', `secrets "${name}" not found`);
      }
      if (verb === 'create') {
        if (!namespaces.has(namespace)) return status(404, 'NotFound', `namespaces "${namespace}" not found`);
        const secret = structuredClone(body) as SecretObject;
        const secretName = secret.metadata?.name ?? '';
        if (secrets.has(`${namespace}/${secretName}`)) {
          return status(409, 'AlreadyExists', `secrets "${secretName}" already exists`);
        }
        const invalid = validate(secret);
        if (invalid) return status(422, 'Invalid', `Secret "${secretName}" is invalid: ${invalid}`);
        secret.metadata = { ...secret.metadata, namespace, resourceVersion: String(version++) };
        secrets.set(`${namespace}/${secretName}`, secret);
        return send(201, secret);
      }
      // patch
      const key = `${namespace}/${name}`;
      const existing = secrets.get(key);
      if (!existing) return status(404, 'NotFound', `secrets "${name}" not found`);
      const type = req.headers['content-type'];
      if (type !== 'application/strategic-merge-patch+json' && type !== 'application/merge-patch+json') {
        return status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format`);
      }
      const patched = mergePatch(existing, body) as SecretObject;
      if (patched.type !== existing.type) {
        return status(422, 'Invalid', `Secret "${name}" is invalid: type: Invalid value: field is immutable`);
      }
      const invalid = validate(patched);
      if (invalid) return status(422, 'Invalid', `Secret "${name}" is invalid: ${invalid}`);
      patched.metadata = { ...patched.metadata, resourceVersion: String(version++) };
      secrets.set(key, patched);
      return send(200, patched);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    token,
    requests,
    secrets,
    namespaces,
    forbidden,
    seed(namespace, secret) {
      const data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      );
      secrets.set(`${namespace}/${secret.metadata?.name ?? ''}`, {
        apiVersion: 'v1',
        kind: 'Secret',
        ...secret,
        metadata: { ...secret.metadata, namespace, resourceVersion: String(version++) },
        data,
      });
    },
    dataOf(namespace, name) {
      const secret = secrets.get(`${namespace}/${name}`);
      if (!secret) return undefined;
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    },
    kubeconfig(dir) {
      const file = path.join(dir, 'kubeconfig');
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        // A plain-http test server: the client allows http only with insecure-skip-tls-verify.
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'dbwarden', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'dbwarden' } }],
        'current-context': 'fake',
      };
      fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      return file;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** What the API server refuses in a Secret, as far as these tests need. */
function validate(secret: SecretObject): string | undefined {
  for (const key of Object.keys(secret.data ?? {})) {
    if (!KEY.test(key))
      return `data[${key}]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`;
  }
  if (secret.type === 'kubernetes.io/basic-auth') {
    const data = secret.data ?? {};
    if (data.username === undefined && data.password === undefined) {
      return 'data[username]: Required value: at least one of username or password is required';
    }
  }
  return undefined;
}

/** RFC 7386 JSON merge patch (for maps, what a strategic merge patch does too): null removes. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result = new Map<string, unknown>(
    typeof target === 'object' && target !== null && !Array.isArray(target) ? Object.entries(target) : [],
  );
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) result.delete(key);
    else result.set(key, mergePatch(result.get(key), value));
  }
  return Object.fromEntries(result);
}
