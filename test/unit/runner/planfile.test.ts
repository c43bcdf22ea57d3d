/**
 * The planfile's pure parts: canonical form, catalog fingerprints, the
 * config digest, the document digest, and the refusal of anything but a
 * planfile as plan wrote it (no I/O: parsePlanfile on text). The store's
 * pending work from a status (storePendingOf).
 */
import { describe, expect, it } from 'vitest';
import type { Catalog, Change } from '../../../src/plan/types.js';
import {
  canonicalJson,
  catalogFingerprints,
  deploymentDigest,
  makePlanfile,
  parsePlanfile,
  type Planfile,
  sameChanges,
  serializePlanfile,
} from '../../../src/runner/planfile.js';
import { storePendingOf } from '../../../src/runner/store-pending.js';
import { InvalidInputError } from '../../../src/errors.js';
import { component, db, desired, table, targetCatalog } from '../plan/builders.js';

const grant = (tableName: string, privileges: string[], target = 'db1'): Change => ({
  type: 'grant',
  target,
  component: 'api',
  role: 'nova_api_role',
  kind: 'role',
  object: { kind: 'table', schema: 'public', table: tableName },
  privileges,
});

function catalog(grants: { table: string; privilege: string; grantee?: string }[]): Catalog {
  return {
    clusters: {
      c1: {
        roles: [
          { name: 'nova_api_role', canLogin: false, managedMarker: true, attributes: [] },
          { name: 'nova_api', canLogin: true, managedMarker: true, attributes: [] },
        ],
        memberships: [{ role: 'nova_api_role', member: 'nova_api' }],
      },
    },
    targets: {
      db1: targetCatalog({
        tables: [{ schema: 'public', table: 'services', columns: ['id', 'host'], ownedSequences: [] }],
        grants: grants.map((g) => ({
          grantee: g.grantee ?? 'nova_api_role',
          object: { kind: 'table', schema: 'public', table: g.table },
          privilege: g.privilege,
        })),
      }),
    },
  };
}

function planfile(changes: Change[] = [grant('services', ['select'])]): Planfile {
  return makePlanfile({
    dbwarden: '0.1.0',
    createdAt: '2026-12-07T23:00:00.000Z',
    app: 'nova',
    configDigest: deploymentDigest(
      desired([component('api', [db('main', [table('services', ['select'])])])]),
    ),
    options: { components: null, rotatePasswords: false },
    targets: [
      {
        name: 'db1',
        engine: 'postgres',
        database: 'nova',
        serverVersion: 'PostgreSQL 15',
        fingerprint: catalogFingerprints(catalog([])).db1 ?? '',
      },
    ],
    changes: changes.map((change) => ({ intent: change.type, change })),
  });
}

/** The planfile's text with `edit` applied to its JSON and, when resign, a matching digest. */
function edited(edit: (doc: Record<string, unknown>) => void, resign: boolean): string {
  const doc = JSON.parse(serializePlanfile(planfile())) as Record<string, unknown>;
  edit(doc);
  if (!resign) return JSON.stringify(doc);
  const content = { ...doc };
  delete content.digest;
  delete content.format;
  delete content.version;
  return serializePlanfile(makePlanfile(content as unknown as Parameters<typeof makePlanfile>[0]));
}

function refusal(text: string): string {
  try {
    parsePlanfile(text, 'p.plan');
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).message;
  }
  throw new Error('parsePlanfile accepted the text');
}

describe('canonicalJson', () => {
  it('sorts keys always and arrays only as sets', () => {
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: undefined } }, true)).toBe('{"a":{"d":1},"b":[1,2]}');
    expect(canonicalJson({ b: [2, 1] }, false)).toBe('{"b":[2,1]}');
  });

  it('hashes a Map by its entries, never as an empty object', () => {
    const one = canonicalJson({ tables: new Map([['users', ['select']]]) }, false);
    const other = canonicalJson({ tables: new Map([['users', ['select', 'delete']]]) }, false);
    expect(one).toContain('users');
    expect(one).not.toBe(other);
    expect(
      canonicalJson(
        new Map([
          ['b', 1],
          ['a', 2],
        ]),
        false,
      ),
    ).toBe('[["a",2],["b",1]]');
  });
});

describe('catalogFingerprints', () => {
  it('is the same whatever order the server listed things in, and differs on an extra grant', () => {
    const a = catalog([
      { table: 'services', privilege: 'select' },
      { table: 'services', privilege: 'update' },
    ]);
    const b = catalog([
      { table: 'services', privilege: 'update' },
      { table: 'services', privilege: 'select' },
    ]);
    expect(catalogFingerprints(a)).toEqual(catalogFingerprints(b));
    expect(catalogFingerprints(a).db1).toMatch(/^sha256:[0-9a-f]{64}$/);
    const more = catalog([
      { table: 'services', privilege: 'select' },
      { table: 'services', privilege: 'update' },
      { table: 'services', privilege: 'delete' },
    ]);
    expect(catalogFingerprints(more).db1).not.toBe(catalogFingerprints(a).db1);
  });

  it('covers the server-wide roles: a new role with a managed name changes it', () => {
    const base = catalog([]);
    const withRole: Catalog = {
      ...base,
      clusters: {
        c1: {
          ...(base.clusters.c1 as NonNullable<Catalog['clusters']['c1']>),
          roles: [
            ...(base.clusters.c1?.roles ?? []),
            { name: 'nova_web', canLogin: true, managedMarker: false, attributes: [] },
          ],
        },
      },
    };
    expect(catalogFingerprints(withRole).db1).not.toBe(catalogFingerprints(base).db1);
  });
});

describe('deploymentDigest', () => {
  it('changes with the policies', () => {
    const one = desired([component('api', [db('main', [table('services', ['select'])])])]);
    const two = desired([component('api', [db('main', [table('services', ['select', 'update'])])])]);
    expect(deploymentDigest(one)).toBe(deploymentDigest(structuredClone(one)));
    expect(deploymentDigest(one)).not.toBe(deploymentDigest(two));
  });
});

describe('parsePlanfile', () => {
  it('reads back what serializePlanfile wrote', () => {
    const made = planfile();
    expect(parsePlanfile(serializePlanfile(made), 'p.plan')).toEqual(made);
  });

  it('refuses text that is not JSON, another format, another version', () => {
    expect(refusal('{')).toMatch(/^planfile p\.plan: not JSON/);
    expect(refusal('[]')).toContain('not a dbwarden plan');
    expect(refusal(edited((d) => (d.version = 2), false))).toContain('version 2 is not one this dbwarden');
  });

  it('refuses an edit that leaves the digest as it was', () => {
    const text = edited((d) => {
      (
        (d.changes as { change: { privileges: string[] } }[])[0] as { change: { privileges: string[] } }
      ).change.privileges = ['delete'];
    }, false);
    expect(refusal(text)).toContain('does not match its digest');
  });

  it('refuses unknown fields, unknown change types and names with control characters, even with a matching digest', () => {
    const changes = (d: Record<string, unknown>) => d.changes as { change: Record<string, unknown> }[];
    expect(
      refusal(edited((d) => ((changes(d)[0] as { change: Record<string, unknown> }).change.sql = 'x'), true)),
    ).toContain('does not match the planfile format');
    expect(
      refusal(
        edited((d) => ((changes(d)[0] as { change: Record<string, unknown> }).change.type = 'run-sql'), true),
      ),
    ).toContain('does not match the planfile format');
    expect(
      refusal(
        edited(
          (d) => ((changes(d)[0] as { change: Record<string, unknown> }).change.role = 'nova_api\u0000'),
          true,
        ),
      ),
    ).toContain('contains the control or invisible character U+0000');
    expect(
      refusal(
        edited(
          (d) => ((changes(d)[0] as { change: Record<string, unknown> }).change.role = 'x'.repeat(64)),
          true,
        ),
      ),
    ).toContain('PostgreSQL names hold at most 63 bytes');
    expect(
      refusal(
        edited(
          (d) => ((changes(d)[0] as { change: Record<string, unknown> }).change.target = 'elsewhere'),
          true,
        ),
      ),
    ).toContain('target "elsewhere" is not one of the planfile\'s targets');
  });
});

describe('planfile: typed account changes', () => {
  const alter: Change = {
    type: 'alter-role',
    target: 'db1',
    component: 'api',
    role: 'nova_api',
    kind: 'login',
    canLogin: true,
    clear: [
      { attribute: 'global-privilege', privilege: 'reload' },
      { attribute: 'max-user-connections', count: 3 },
      { attribute: 'superuser' },
      { attribute: 'tls-not-required' },
    ],
    clearAttributes: ['global privilege reload', 'max user connections 3', 'superuser', 'tls not required'],
  };
  const membership: Change = {
    type: 'grant-membership',
    target: 'db1',
    component: 'api',
    role: 'nova_api_role',
    kind: 'role',
    member: 'nova_api',
    memberKind: 'login',
  };

  it('reads back typed attributes and kinds as written', () => {
    const written = planfile([alter, membership]);
    expect(parsePlanfile(serializePlanfile(written), 'p.plan').changes.map((c) => c.change)).toEqual([
      alter,
      membership,
    ]);
  });

  it('refuses an attribute it does not know, a kind that is neither role nor login, a change without kind', () => {
    const resigned = (change: Record<string, unknown>) => {
      const doc = JSON.parse(serializePlanfile(planfile([alter]))) as Record<string, unknown>;
      (doc.changes as { intent: string; change: Record<string, unknown> }[])[0] = { intent: 'x', change };
      const content = { ...doc };
      delete content.digest;
      delete content.format;
      delete content.version;
      return serializePlanfile(makePlanfile(content as unknown as Parameters<typeof makePlanfile>[0]));
    };
    expect(refusal(resigned({ ...alter, clear: [{ attribute: 'superuser; drop' }] }))).toContain(
      'does not match the planfile format',
    );
    expect(refusal(resigned({ ...alter, kind: 'admin' }))).toContain('does not match the planfile format');
    const withoutKind: Record<string, unknown> = { ...alter };
    delete withoutKind.kind;
    expect(refusal(resigned(withoutKind))).toContain('does not match the planfile format');
  });
});

describe('sameChanges', () => {
  it("compares each target's changes in order, whatever the interleaving of targets", () => {
    const a1 = grant('a', ['select'], 'db1');
    const b1 = grant('b', ['select'], 'db1');
    const a2 = grant('a', ['select'], 'db2');
    expect(sameChanges([a1, a2, b1], [a1, b1, a2])).toBe(true);
    expect(sameChanges([a1, b1], [b1, a1])).toBe(false);
    expect(sameChanges([a1], [grant('a', ['delete'])])).toBe(false);
    expect(sameChanges([a1], [a1, a2])).toBe(false);
  });
});

describe('storePendingOf', () => {
  it('counts plaintext rows to encrypt and rows under other key ids to re-encrypt, and pending migrations', () => {
    const pending = storePendingOf(
      {
        targets: [
          {
            target: 'main1',
            migrations: [
              { name: '001_key_columns', applied: true },
              { name: '002_encrypt', applied: false },
            ],
            tables: [
              {
                table: 'users',
                schema: undefined,
                rows: 10,
                plaintext: 3,
                byKeyId: { k2: 4, k1: 2, k0: 1 },
                unreadable: 0,
                mismatched: 1,
                mismatchedRows: ['7'],
              },
            ],
          },
        ],
        unusedPreviousKeys: [],
        previousKeysInUse: [],
        unknownKeyIds: [],
      },
      'k2',
    );
    expect(pending).toEqual({
      currentKeyId: 'k2',
      upToDate: false,
      targets: [
        {
          target: 'main1',
          migrations: ['002_encrypt'],
          tables: [
            {
              table: 'users',
              schema: undefined,
              encrypt: 3,
              reencrypt: [
                { keyId: 'k0', rows: 1 },
                { keyId: 'k1', rows: 2 },
              ],
              repair: 1,
            },
          ],
        },
      ],
    });
    const done = storePendingOf(
      {
        targets: [
          {
            target: 'main1',
            migrations: [{ name: '001_key_columns', applied: true }],
            tables: [
              {
                table: 'users',
                schema: undefined,
                rows: 4,
                plaintext: 0,
                byKeyId: { k2: 4 },
                unreadable: 0,
                mismatched: 0,
                mismatchedRows: [],
              },
            ],
          },
        ],
        unusedPreviousKeys: [],
        previousKeysInUse: [],
        unknownKeyIds: [],
      },
      'k2',
    );
    expect(done.upToDate).toBe(true);
  });
});
