/**
 * The shipped Nova policies, read as a reviewer reads them (no server needed):
 *
 * - every table line carries a one-line reason;
 * - every grant is backed by the project's Nova access map (test/fixtures/nova/nova-access.yaml),
 *   or its reason says "(not in the access map...)", naming the verbs the map lacks; grants the
 *   map calls inferred say "(inferred)" or "(inferred: verbs)", and no other grant does;
 * - every grant the access map lists is in the policy, or is in OMITTED below with the reason;
 * - every table is one current Nova uses (status active in test/fixtures/nova/nova-tables.json).
 *
 * test/integration/nova/nova.test.ts then proves the grants against Nova's own code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, LineCounter, parse, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { NEWER_THAN_ZED } from '../../harness/nova.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const POLICY_DIR = path.join(root, 'policies/nova');
const FIXTURES = path.join(root, 'test/fixtures/nova');

/** Policy component -> the service name in the access map. */
const SERVICES: Readonly<Record<string, string>> = {
  api: 'nova-api',
  compute: 'nova-compute',
  conductor: 'nova-conductor',
  metadata: 'nova-metadata-api',
  novncproxy: 'nova-novncproxy',
  scheduler: 'nova-scheduler',
};

/** Grants the access map lists that the policies leave out on purpose: component -> kind.table -> why. */
const OMITTED: Readonly<Record<string, Readonly<Record<string, { verbs: string[]; why: string }>>>> = {
  novncproxy: {
    'main.instance_metadata': {
      verbs: ['select'],
      why: 'Instance.get_by_uuid without expected_attrs joins only info_cache and security_groups',
    },
    'main.instance_system_metadata': {
      verbs: ['select'],
      why: 'Instance.get_by_uuid without expected_attrs joins only info_cache and security_groups',
    },
  },
};

const VERB_ORDER = ['select', 'insert', 'update', 'delete'];

interface Grant {
  readonly component: string;
  readonly kind: string;
  readonly table: string;
  readonly verbs: string[];
  readonly file: string;
  readonly line: number;
  /** The comment on the table's line, without '#'; '' when there is none. */
  readonly reason: string;
}

function shippedGrants(): { grants: Grant[]; components: Map<string, string> } {
  const grants: Grant[] = [];
  const components = new Map<string, string>();
  for (const file of fs.readdirSync(POLICY_DIR).filter((f) => f.endsWith('.yaml'))) {
    const source = fs.readFileSync(path.join(POLICY_DIR, file), 'utf8');
    const lines = source.split('\n');
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { lineCounter });
    const component = String(doc.get('component'));
    components.set(component, file);
    const databases = doc.get('databases');
    if (!isMap(databases)) continue;
    for (const kindPair of databases.items) {
      const kind = String(isScalar(kindPair.key) ? kindPair.key.value : kindPair.key);
      const tables = doc.getIn(['databases', kind, 'tables']);
      if (!isMap(tables)) continue;
      for (const pair of tables.items) {
        if (!isScalar(pair.key)) continue;
        const table = String(pair.key.value);
        const line = lineCounter.linePos(pair.key.range?.[0] ?? 0).line;
        const text = lines[line - 1] ?? '';
        const hash = text.indexOf(' # ');
        const value = (pair.value as { toJSON(): unknown }).toJSON();
        const verbs = Array.isArray(value) ? value.map(String) : Object.keys(value as object);
        grants.push({
          component,
          kind,
          table,
          verbs,
          file,
          line,
          reason: hash === -1 ? '' : text.slice(hash + 3).trim(),
        });
      }
    }
  }
  return { grants, components };
}

interface AccessEntry {
  verbs: string[];
  evidence?: string;
  inferred_verbs?: string[];
}
interface AccessService {
  direct_db_access: boolean;
  databases: Record<string, Record<string, AccessEntry>>;
}

const access = (
  parse(fs.readFileSync(path.join(FIXTURES, 'nova-access.yaml'), 'utf8')) as {
    services: Record<string, AccessService>;
  }
).services;
const masterTables = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'nova-tables.json'), 'utf8')) as Record<
  'api' | 'main',
  Record<string, string>
>;
const lower = (verbs: readonly string[]) =>
  verbs.map((v) => v.toLowerCase()).sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));

describe('the shipped Nova policies', () => {
  const { grants, components } = shippedGrants();

  it('cover the six components, and nova-compute has no database access', () => {
    expect([...components.keys()].sort()).toEqual(Object.keys(SERVICES).sort());
    expect(grants.filter((g) => g.component === 'compute')).toEqual([]);
    expect(access['nova-compute']?.direct_db_access).toBe(false);
    expect(grants.length).toBeGreaterThan(100);
  });

  it('give every table a one-line reason', () => {
    const bare = grants.filter((g) => g.reason.split(/\s+/).length < 3);
    expect(bare.map((g) => `${g.file}:${g.line}: ${g.kind}.${g.table}`)).toEqual([]);
  });

  it('grant only what the access map lists, or say which verbs it lacks; mark what it calls inferred', () => {
    const problems: string[] = [];
    for (const g of grants) {
      const where = `${g.file}:${g.line} ${g.kind}.${g.table}`;
      const entry = access[SERVICES[g.component] ?? '']?.databases[g.kind]?.[g.table];
      const known = entry ? lower(entry.verbs) : [];
      const extra = lower(g.verbs.filter((v) => !known.includes(v)));
      const notInMap = /\(not in the access map(?:: ([a-z, ]+))?\)/.exec(g.reason);
      if (entry === undefined) {
        if (notInMap === null || notInMap[1] !== undefined)
          problems.push(`${where}: not in the access map; the reason must say "(not in the access map)"`);
      } else if (extra.length > 0) {
        if (notInMap?.[1] !== extra.join(', '))
          problems.push(
            `${where}: the access map lacks ${extra.join(', ')}; say "(not in the access map: ${extra.join(', ')})"`,
          );
      } else if (notInMap !== null) {
        problems.push(`${where}: says "not in the access map" but the map lists every verb`);
      }

      const inferred = /\(inferred(?:: ([a-z, ]+))?\)/.exec(g.reason);
      if (entry?.evidence === 'inferred') {
        if (inferred === null || inferred[1] !== undefined)
          problems.push(`${where}: the access map calls it inferred; say "(inferred)"`);
      } else if (entry?.inferred_verbs !== undefined) {
        const verbs = lower(entry.inferred_verbs.filter((v) => g.verbs.includes(v.toLowerCase())));
        if (inferred?.[1] !== verbs.join(', '))
          problems.push(
            `${where}: the access map infers ${verbs.join(', ')}; say "(inferred: ${verbs.join(', ')})"`,
          );
      } else if (inferred !== null) {
        problems.push(`${where}: marked inferred, but the access map traced it to a call site`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('leave out nothing the access map lists, except the documented omissions', () => {
    const problems: string[] = [];
    for (const [component, service] of Object.entries(SERVICES)) {
      for (const [kind, tables] of Object.entries(access[service]?.databases ?? {})) {
        for (const [table, entry] of Object.entries(tables)) {
          const granted = grants.find(
            (g) => g.component === component && g.kind === kind && g.table === table,
          );
          const missing = lower(entry.verbs).filter((v) => !(granted?.verbs ?? []).includes(v));
          if (missing.length === 0) continue;
          const omitted = OMITTED[component]?.[`${kind}.${table}`];
          if (omitted === undefined || lower(omitted.verbs).join() !== missing.join())
            problems.push(
              `${component}: ${kind}.${table} lacks ${missing.join(', ')}, which the access map lists`,
            );
        }
      }
    }
    expect(problems).toEqual([]);
    // Every omission still applies (the map lists it, the policy leaves it out).
    for (const [component, omissions] of Object.entries(OMITTED)) {
      for (const key of Object.keys(omissions)) {
        const [kind = '', table = ''] = key.split('.');
        expect(
          access[SERVICES[component] ?? '']?.databases[kind]?.[table],
          `${component} ${key}`,
        ).toBeDefined();
        expect(
          grants.find((g) => g.component === component && g.kind === kind && g.table === table),
        ).toBeUndefined();
      }
    }
  });

  it("name only tables current Nova uses (active in Nova's schema), and the newer-than-Zed list is right", () => {
    const notActive = grants
      .filter((g) => masterTables[g.kind as 'api' | 'main'][g.table] !== 'active')
      .map(
        (g) =>
          `${g.file}:${g.line}: ${g.kind}.${g.table} is ${masterTables[g.kind as 'api' | 'main'][g.table] ?? 'missing'}`,
      );
    expect(notActive).toEqual([]);
    for (const kind of ['api', 'main'] as const) {
      for (const table of Object.keys(NEWER_THAN_ZED[kind])) {
        expect(masterTables[kind][table], `${kind}.${table}`).toBe('active');
        expect(
          grants.some((g) => g.kind === kind && g.table === table),
          `${kind}.${table} is granted`,
        ).toBe(true);
      }
    }
  });
});
