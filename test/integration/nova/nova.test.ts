/**
 * The shipped Nova policies and example deployment, proven against real Nova, on every engine:
 *
 * - Nova's own migrations (Debian's python3-nova, Nova 26 Zed) make nova_api, nova_cell0 and
 *   nova_cell1; every table the policies name exists there (test/harness/nova.ts NEWER_THAN_ZED
 *   lists the one that is newer than Zed);
 * - `dbwarden apply` then `verify` pass on that schema, with examples/nova/dbwarden.yaml's
 *   targets, kinds and URL variables;
 * - each component runs a representative set of its real database operations through Nova's own
 *   Python code (test/fixtures/nova/nova_workload.py) with the credentials dbwarden wrote, and
 *   every one succeeds; operations outside a component's policy fail with a permission error on
 *   exactly the statement that oversteps it; nova-compute has no login at all;
 * - the example's `secrets:` entry names a table today's Nova does not have: what an operator sees.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, isMap, parse, parseDocument, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../harness/databases.js';
import { ENGINES } from '../../harness/engines.js';
import {
  createNovaDatabases,
  credentialPasswords,
  NEWER_THAN_ZED,
  type NovaDatabases,
  novaDeniedCodes,
  type NovaOp,
  type NovaStep,
  passwordOf,
  redact,
  requireNovaPython,
  runNovaScript,
  tablesOf,
} from '../../harness/nova.js';
import { type CliRun, runCli } from '../engines/scenario.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const POLICY_DIR = path.join(root, 'policies/nova');
const EXAMPLE = path.join(root, 'examples/nova/dbwarden.yaml');
const KINDS = ['api', 'main'] as const;

/** Components with a database login, and the one without. */
const WITH_DATABASES = ['api', 'conductor', 'metadata', 'novncproxy', 'scheduler'];

/** The shipped policy files, parsed: component -> kind -> tables. */
function shippedPolicies(): Map<string, Record<string, string[]>> {
  const out = new Map<string, Record<string, string[]>>();
  for (const file of fs.readdirSync(POLICY_DIR).filter((f) => f.endsWith('.yaml'))) {
    const doc = parse(fs.readFileSync(path.join(POLICY_DIR, file), 'utf8')) as {
      component: string;
      databases?: Record<string, { tables: Record<string, unknown> }>;
    };
    out.set(
      doc.component,
      Object.fromEntries(Object.entries(doc.databases ?? {}).map(([k, v]) => [k, Object.keys(v.tables)])),
    );
  }
  return out;
}

/** Copies the shipped policies into dir, without the tables Zed does not have (comments kept). */
function writeZedPolicies(dir: string): void {
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(POLICY_DIR).filter((f) => f.endsWith('.yaml'))) {
    const doc: Document = parseDocument(fs.readFileSync(path.join(POLICY_DIR, file), 'utf8'));
    for (const kind of KINDS) {
      const tables = doc.getIn(['databases', kind, 'tables']);
      if (!isMap(tables)) continue;
      for (const table of Object.keys(NEWER_THAN_ZED[kind])) tables.delete(table);
    }
    fs.writeFileSync(path.join(dir, file), doc.toString());
  }
}

describe.each(ENGINES)('OpenStack Nova on $title', (engine) => {
  let dbs: NovaDatabases;
  let dir: string;
  let app: string;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]): Promise<CliRun> => runCli(dir, env, args);
  /** The first `apply` of the deployment, shared by the tests that need its logins (each can run alone). */
  let firstApply: Promise<CliRun> | undefined;
  const applied = async () => {
    firstApply ??= cli('apply');
    const result = await firstApply;
    expect(clean(result.stderr)).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    return result;
  };
  const credentialsDir = () => path.join(dir, 'credentials');
  /** Everything a message might leak: the admin password and every component password. */
  const secrets = () => [passwordOf(engine.adminUrl()), ...credentialPasswords(credentialsDir())];
  const clean = (text: string) => redact(text, secrets());

  beforeAll(async () => {
    requireNovaPython();
    dbs = await createNovaDatabases(engine);
    process.stderr.write(
      `nova on ${engine.title}: Nova's migrations took ${dbs.migrationSeconds.toFixed(1)} s (3 databases)\n`,
    );
    // MySQL role names hold at most 32 characters: <app>_novncproxy_role must fit.
    app = uniqueName('n').slice(0, 16);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-nova-'));
    writeZedPolicies(path.join(dir, 'policies'));
    fs.mkdirSync(path.join(dir, 'master-keys'), { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'master-keys', 'k1'), randomBytes(32).toString('base64'), {
      mode: 0o600,
    });
    // The shipped example, with this test's app name, policy copy and directories.
    const config = parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      path.join(dir, 'dbwarden.yaml'),
      stringify({ ...config, app, policies: 'policies', credentials: { dir: './credentials' } }),
    );
    env = {
      PATH: process.env.PATH,
      NOVA_API_ADMIN_URL: dbs.api.url,
      NOVA_CELL0_ADMIN_URL: dbs.cell0.url,
      NOVA_CELL1_ADMIN_URL: dbs.cell1.url,
    };
  }, 600_000);

  afterAll(async () => {
    if (dbs !== undefined) await dbs.drop();
    if (app !== undefined) await engine.dropRolesWithPrefix(`${app}_`);
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("Nova's migrations made every table the shipped policies name (all but the newer-than-Zed ones)", async () => {
    const have = {
      api: new Set(await tablesOf(engine, dbs.api)),
      main: new Set(await tablesOf(engine, dbs.cell0)),
    };
    // Nova 26 makes 32 API tables and 110 cell tables (shadow tables included).
    expect(have.api.size).toBe(32);
    expect(have.main.size).toBe(110);
    expect(await tablesOf(engine, dbs.cell1)).toEqual([...have.main].sort());
    const missing: string[] = [];
    for (const [component, kinds] of shippedPolicies()) {
      for (const [kind, tables] of Object.entries(kinds)) {
        const newer = NEWER_THAN_ZED[kind as 'api' | 'main'];
        for (const table of tables) {
          if (table in newer)
            expect(have[kind as 'api' | 'main'].has(table), `${table} is in Zed now`).toBe(false);
          else if (!have[kind as 'api' | 'main'].has(table)) missing.push(`${component}: ${kind}.${table}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('apply, then verify, pass on the real schema with the example deployment (3 databases)', async () => {
    await applied();
    const verified = await cli('verify');
    expect(clean(verified.stdout + verified.stderr)).toContain('Verify: ok, 6 components checked.');
    expect(verified.code).toBe(0);
    expect((await cli('plan', '--exit-code')).code).toBe(0);
    expect(fs.readdirSync(credentialsDir()).sort()).toEqual(WITH_DATABASES.map((c) => `${c}.json`));
    const conductor = JSON.parse(fs.readFileSync(path.join(credentialsDir(), 'conductor.json'), 'utf8')) as {
      targets: Record<string, unknown>;
    };
    expect(Object.keys(conductor.targets).sort()).toEqual(['nova_api', 'nova_cell0', 'nova_cell1']);
    const novncproxy = JSON.parse(
      fs.readFileSync(path.join(credentialsDir(), 'novncproxy.json'), 'utf8'),
    ) as {
      targets: Record<string, unknown>;
    };
    expect(Object.keys(novncproxy.targets).sort()).toEqual(['nova_cell0', 'nova_cell1']);
  });

  it("each component's real database work runs through Nova's code as its own login, and nothing beyond it", async () => {
    await applied();
    const run = await runNovaScript<{ steps: NovaStep[] }>(
      'nova_workload.py',
      {
        credentialsDir: credentialsDir(),
        adminUrls: { nova_api: dbs.api.url, nova_cell0: dbs.cell0.url, nova_cell1: dbs.cell1.url },
      },
      { secrets: secrets(), timeoutMs: 600_000 },
    );
    process.stderr.write(
      `nova on ${engine.title}: the workload took ${run.seconds.toFixed(1)} s ` +
        `(${run.result.steps.reduce((n, s) => n + s.ops.length, 0)} operations)\n`,
    );
    const steps = run.result.steps;
    const denied = novaDeniedCodes(engine);
    const describeOp = (s: NovaStep, op: NovaOp) =>
      clean(
        `${s.component} (${s.title}): ${op.name}: expected ${op.expect}, got ${op.outcome}` +
          `${op.code ? ` (${op.code})` : ''}${op.refused ? `, refused: ${op.refused}` : ''}\n` +
          `${op.error ?? ''}\n${op.traceback ?? ''}`,
      );

    const problems: string[] = [];
    for (const step of steps) {
      if (step.fatal) problems.push(clean(`${step.component} (${step.title}) crashed:\n${step.fatal}`));
      for (const op of step.ops) {
        if (op.expect === 'ok') {
          // No statement refused, not even one Nova caught and logged (scatter-gather over cells).
          if (op.outcome !== 'ok' || op.dbErrors.length > 0) problems.push(describeOp(step, op));
        } else if (
          op.outcome !== 'denied' ||
          op.code === null ||
          !denied.includes(op.code) ||
          op.refused !== op.target
        ) {
          // A permission error on exactly the statement that oversteps the policy: not a missing
          // table, a typo, or a read that happens to be refused before it.
          problems.push(describeOp(step, op));
        }
      }
    }
    expect(problems).toEqual([]);

    // Every step ran, and every component with a login did work and met its boundary.
    expect(steps.map((s) => s.component)).toEqual([
      'nova-manage',
      'conductor',
      'scheduler',
      'api',
      'scheduler',
      'conductor',
      'scheduler',
      'api',
      'metadata',
      'novncproxy',
      'conductor',
    ]);
    for (const component of WITH_DATABASES) {
      const ops = steps.filter((s) => s.component === component).flatMap((s) => s.ops);
      expect(ops.filter((o) => o.expect === 'ok').length, component).toBeGreaterThanOrEqual(3);
      expect(ops.filter((o) => o.expect === 'denied').length, component).toBeGreaterThanOrEqual(2);
    }
    const opNames = steps.flatMap((s) => s.ops.map((o) => `${s.component}: ${o.name}`));
    for (const name of [
      'scheduler: delete an instance (the soft delete of instance_destroy)',
      'api: write compute_nodes (ComputeNode.create)',
      'conductor: schedule_and_build_instances server A (instance, BDMs, tags, action, mapping)',
      'api: boot server A: request spec, build request, instance mapping, group member',
    ]) {
      expect(opNames).toContain(name);
    }

    // The evidence behind two settled grants: the scheduler's instance list reads join
    // security_group_instance_association and security_groups, but never security_group_rules
    // (only single-instance reads join the rules); the conductor creates instances without
    // writing security_group_instance_association.
    const footprint = (component: string) =>
      new Set(
        steps.filter((s) => s.component === component).flatMap((s) => s.ops.flatMap((o) => o.footprint)),
      );
    const scheduler = footprint('scheduler');
    expect(scheduler).toContain('select security_group_instance_association');
    expect(scheduler).toContain('select security_groups');
    expect(scheduler).not.toContain('select security_group_rules');
    expect(footprint('conductor')).toContain('insert instances');
    expect(footprint('conductor')).not.toContain('insert security_group_instance_association');

    // Only calls that leave the database are stubbed: RPC, placement, neutron, a green thread.
    const stubs = new Set(steps.flatMap((s) => s.stubs));
    for (const stub of stubs) {
      expect(stub).toMatch(/scheduler RPC|cast to nova-compute|placement|neutron|green thread/);
    }
  }, 900_000);

  it('nova-compute has no login: no credential file, no account on the server, its name cannot log in', async () => {
    await applied();
    expect(fs.existsSync(path.join(credentialsDir(), 'compute.json'))).toBe(false);
    expect(await engine.accounts(`${app}_compute`)).toEqual([]);
    // The API's own working URL and password, with the compute login's name instead.
    const api = JSON.parse(fs.readFileSync(path.join(credentialsDir(), 'api.json'), 'utf8')) as {
      targets: Record<string, { url: string }>;
    };
    const url = new URL(api.targets.nova_cell1?.url ?? '');
    url.username = `${app}_compute`;
    const refused = await engine.whoami(url.toString()).then(
      () => 'logged in',
      (err: unknown) => String((err as { code?: string }).code ?? clean(String(err))),
    );
    expect(refused).toBe(engine.authFailedCode);
  });

  it("the example's secrets entry names users, a table Nova's cell databases do not have: status, verify --secrets and upgrade stop with exit 2 and say so", async () => {
    await applied();
    for (const args of [['status'], ['verify', '--secrets'], ['upgrade']]) {
      const result = await cli(...args);
      const out = clean(result.stderr);
      expect(result.code, `${args.join(' ')}: ${out}`).toBe(2);
      expect(out).toMatch(/target nova_cell0: secrets table \S*users does not exist/);
      expect(out).toContain('fix the secrets: entries in the config (or the tables)');
    }
    // The roles were already in place; upgrade's apply half changed nothing, and verify still passes.
    expect((await cli('verify')).code).toBe(0);
  });
});
