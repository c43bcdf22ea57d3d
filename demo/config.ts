/**
 * The demo's deployment: examples/nova/dbwarden.yaml (comments kept) with its targets pointed at
 * the demo server through `urlFile`s, the shipped policies, a credentials directory, the `users`
 * secrets entry, and generated master keys; all in one directory of mode 0700.
 *
 * Secret material lives only in files of mode 0600: the admin URLs (urlFile), a pgpass file for
 * psql, and the master keys (base64 of 32 random bytes). None of it is ever printed.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import YAML, { isCollection, isMap, isScalar } from 'yaml';
import { DATABASES, USERS_TABLE } from './schema.js';
import { ADMIN_USER, type DemoServer, HOST } from './server.js';

export interface MasterKeyFile {
  readonly id: string;
  readonly file: string;
  /** The base64 text in the file (kept only to be redacted from output). */
  readonly base64: string;
}

export interface Deployment {
  readonly dir: string;
  readonly configFile: string;
  readonly credentialsDir: string;
  readonly pgpassFile: string;
  readonly adminUrlFiles: Record<string, string>;
  readonly keys: Record<string, MasterKeyFile>;
  readonly policiesDir: string;
}

const KEY_IDS = ['k1', 'k2'] as const;

export async function writeDeployment(
  repoRoot: string,
  workDir: string,
  server: DemoServer,
): Promise<Deployment> {
  const dir = path.join(workDir, 'deployment');
  await fsp.mkdir(path.join(dir, 'admin-urls'), { recursive: true, mode: 0o700 });
  await fsp.mkdir(path.join(dir, 'master-keys'), { mode: 0o700 });
  await fsp.chmod(dir, 0o700);

  const adminUrlFiles: Record<string, string> = {};
  for (const db of DATABASES) {
    const file = path.join(dir, 'admin-urls', db.name);
    await fsp.writeFile(file, `${server.adminUrl(db.name)}\n`, { mode: 0o600 });
    adminUrlFiles[db.name] = file;
  }
  const pgpassFile = path.join(dir, 'pgpass');
  await fsp.writeFile(pgpassFile, `${HOST}:${server.port}:*:${ADMIN_USER}:${server.adminPassword}\n`, {
    mode: 0o600,
  });

  const keys: Record<string, MasterKeyFile> = {};
  for (const id of KEY_IDS) {
    const file = path.join(dir, 'master-keys', id);
    const base64 = randomBytes(32).toString('base64');
    await fsp.writeFile(file, `${base64}\n`, { mode: 0o600 });
    keys[id] = { id, file, base64 };
  }

  const policiesDir = path.join(repoRoot, 'policies', 'nova');
  const deployment: Deployment = {
    dir,
    configFile: path.join(dir, 'dbwarden.yaml'),
    credentialsDir: path.join(dir, 'credentials'),
    pgpassFile,
    adminUrlFiles,
    keys,
    policiesDir,
  };
  await writeConfig(repoRoot, deployment, 'k1', []);
  return deployment;
}

/** (Re)writes dbwarden.yaml with the given current key and previous keys. */
export async function writeConfig(
  repoRoot: string,
  deployment: Deployment,
  current: string,
  previous: readonly string[],
): Promise<void> {
  const example = path.join(repoRoot, 'examples', 'nova', 'dbwarden.yaml');
  const doc = YAML.parseDocument(await fsp.readFile(example, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${example}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
  if (!isMap(doc.contents)) throw new Error(`${example}: not a mapping`);

  // The example's first paragraph says what the file is; say what this one is instead.
  const first = doc.contents.items[0]?.key;
  if (isScalar(first) && first.commentBefore) {
    const paragraphs = first.commentBefore.split('\n\n');
    paragraphs[0] = [
      ' Written by `npm start` (demo/config.ts) from examples/nova/dbwarden.yaml: the same',
      ' deployment, pointed at the demo PostgreSQL server. Admin URLs are in urlFile files',
      ' (mode 0600), never in this file.',
    ].join('\n');
    first.commentBefore = paragraphs.join('\n\n');
  }

  const relative = (file: string) => `./${path.relative(deployment.dir, file)}`;
  const flow = (value: unknown) => {
    const node = doc.createNode(value);
    if (isCollection(node)) node.flow = true;
    return node;
  };
  doc.set('policies', deployment.policiesDir);
  doc.set(
    'targets',
    DATABASES.map((db) => ({
      name: db.name,
      kind: db.kind,
      urlFile: relative(deployment.adminUrlFiles[db.name] ?? ''),
      engine: 'postgres',
    })),
  );
  doc.setIn(['credentials', 'dir'], relative(deployment.credentialsDir));
  doc.set('secrets', [
    {
      kind: 'main',
      table: USERS_TABLE,
      primaryKey: 'id',
      columns: flow(['access_key', 'secret_key']),
      lookup: flow(['access_key']),
    },
  ]);
  const keyRef = (id: string) => {
    const key = deployment.keys[id];
    if (!key) throw new Error(`no master key ${id}`);
    return flow({ id, file: relative(key.file) });
  };
  const masterKey: Record<string, unknown> = { current: keyRef(current) };
  if (previous.length > 0) masterKey.previous = previous.map(keyRef);
  doc.set('masterKey', masterKey);

  await fsp.writeFile(deployment.configFile, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
}
