/**
 * The CLI contract (design.md section 4): `main(argv, io)` in-process on the
 * fixture files, and once the real `bin/dbwarden.js` in a child process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Environment } from '../../src/util/environment.js';

const root = path.resolve(import.meta.dirname, '../..');
const fixtures = 'test/fixtures';
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  version: string;
};

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(
  argv: readonly string[],
  options: { cwd?: string; env?: Environment } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: options.env ?? {},
    cwd: options.cwd ?? root,
  });
  return { code, stdout, stderr };
}

/** The one JSON document a `--format json` run prints; JSON.parse throws on anything more. */
function jsonOf(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

const errorLines = (stderr: string) => stderr.split('\n').filter((line) => / error: /.test(line));

describe('validate: a broken policy directory', () => {
  const config = `${fixtures}/broken/dbwarden.yaml`;
  const policies = `${fixtures}/broken/policies`;
  const expected = [
    `${policies}/reports.yaml:5:29: error: duplicate verb "select"`,
    `${policies}/reports.yaml:6:7: error: table name "sales\\u202ereport" contains the control or invisible character U+202E`,
    `${policies}/web.yaml:2:1: error: unknown key "owner"`,
    `${policies}/web.yaml:6:24: error: unknown verb "insrt"`,
    `${policies}/web.yaml:8:9: error: unknown verb "selct"`,
    `${policies}/web.yaml:9:17: error: empty column list: list at least one column, or remove the verb`,
    `${policies}/web.yaml:11:17: error: delete applies to whole rows: write \`delete: all\`, or use the list form`,
    `${policies}/worker.yaml:7:7: error: duplicate key "jobs"`,
  ];

  it('exits 2 and prints every problem of every file to stderr as path:line:col: error: message', async () => {
    const { code, stdout, stderr } = await run(['validate', '--config', config]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual(expected);
    expect(stderr).toContain('    did you mean "insert"? allowed: select, insert, update, delete\n');
    expect(stderr).toContain('    did you mean "select"? allowed: select, insert, update, delete\n');
    expect(stdout).toBe('invalid: 8 errors; nothing was changed\n');
  });

  it('reports the same problems for the policy directory checked on its own', async () => {
    const { code, stderr } = await run(['validate', policies]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual(expected);
  });

  it('with --format json, prints exactly one JSON document on stdout with ok:false and the errors', async () => {
    const { code, stdout, stderr } = await run(['validate', '--config', config, '--format', 'json']);
    expect(code).toBe(2);
    expect(stderr).toBe('');
    const report = jsonOf(stdout);
    expect(report.ok).toBe(false);
    expect(report.warnings).toEqual([]);
    expect(report.errors).toHaveLength(8);
    expect(report.errors).toEqual(
      expect.arrayContaining([
        {
          severity: 'error',
          file: `${policies}/web.yaml`,
          line: 6,
          col: 24,
          message: 'unknown verb "insrt"',
          hint: 'did you mean "insert"? allowed: select, insert, update, delete',
        },
        {
          severity: 'error',
          file: `${policies}/worker.yaml`,
          line: 7,
          col: 7,
          message: 'duplicate key "jobs"',
          hint: 'each key may appear once in a mapping',
        },
      ]),
    );
  });

  it('accepts --format=json before the command too', async () => {
    const { code, stdout } = await run(['--format=json', 'validate', '--config', config]);
    expect(code).toBe(2);
    expect(jsonOf(stdout).ok).toBe(false);
  });
});

describe('validate: a broken config', () => {
  const config = `${fixtures}/broken-config/dbwarden.yaml`;

  it('exits 2, reports every config problem, and never prints the admin password', async () => {
    const { code, stdout, stderr } = await run(['validate', '--config', config]);
    expect(code).toBe(2);
    const lines = errorLines(stderr);
    for (const line of [
      `${config}:7:10: error: environment variable SHOP_MAIN_URL is not set`,
      `${config}:10:10: error: target "shop_reports": url has the unsupported scheme "mysqlx"`,
      `${config}:11:11: error: duplicate target name "shop_main"`,
      `${config}:17:12: error: master key "k1" needs exactly one of file, env and kms (found 0)`,
    ]) {
      expect(lines).toContain(line);
    }
    // Exactly these four: the missing variable is not reported a second time as "not a URL".
    expect(lines).toHaveLength(4);
    expect(stderr).toContain(`first defined at ${config}:5:11`);
    expect(`${stdout}${stderr}`).not.toContain('s3cr3t');
    const json = await run(['validate', '--config', config, '--format', 'json']);
    expect(json.code).toBe(2);
    expect(jsonOf(json.stdout).ok).toBe(false);
    expect(`${json.stdout}${json.stderr}`).not.toContain('s3cr3t');
  });

  it('takes variables from the environment it is given', async () => {
    const { stderr } = await run(['validate', '--config', config], {
      env: { SHOP_MAIN_URL: 'postgres://admin@db/shop' },
    });
    expect(stderr).not.toContain('SHOP_MAIN_URL is not set');
    expect(stderr).toContain('duplicate target name "shop_main"');
  });

  it('exits 2 naming a config file that does not exist', async () => {
    const { code, stderr } = await run(['validate', '--config', `${fixtures}/nowhere.yaml`]);
    expect(code).toBe(2);
    expect(stderr).toBe(`${fixtures}/nowhere.yaml: error: no such file or directory\n`);
  });
});

describe('validate: valid inputs', () => {
  it('exits 0 on the Nova example config', async () => {
    const { code, stdout, stderr } = await run(['validate', '--config', 'examples/nova/dbwarden.yaml']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      'ok: examples/nova/dbwarden.yaml: 6 components (5 with database access), 3 targets\n',
    );
  });

  it('exits 0 on the shipped Nova policies checked on their own', async () => {
    const { code, stdout, stderr } = await run(['validate', 'policies/nova']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('ok: 6 components (5 with database access)\n');
  });

  it('resolves the paths in a config against its own directory, from any working directory', async () => {
    const fromRoot = await run([
      'validate',
      '--config',
      `${fixtures}/good/dbwarden.yaml`,
      '--format',
      'json',
    ]);
    expect(fromRoot.code).toBe(0);
    expect(jsonOf(fromRoot.stdout)).toEqual({
      ok: true,
      errors: [],
      warnings: [],
      config: `${fixtures}/good/dbwarden.yaml`,
      targets: [
        { name: 'shop_main', kind: 'main', engine: 'postgres' },
        { name: 'shop_reports', kind: 'reports', engine: 'mysql' },
      ],
      components: [
        { component: 'cron', file: `${fixtures}/good/policies/cron.yaml`, kinds: [], tables: 0 },
        {
          component: 'web',
          file: `${fixtures}/good/policies/web.yaml`,
          kinds: ['main', 'reports'],
          tables: 4,
        },
        { component: 'worker', file: `${fixtures}/good/policies/worker.yaml`, kinds: ['main'], tables: 4 },
      ],
    });
    const elsewhere = await run(['validate', '--config', '../fixtures/good/dbwarden.yaml'], {
      cwd: path.join(root, 'test/cli'),
    });
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stdout).toContain('3 components (2 with database access), 2 targets');
  });

  it('reads ./dbwarden.yaml of its working directory by default', async () => {
    const { code, stdout } = await run(['validate'], { cwd: path.join(root, fixtures, 'good') });
    expect(code).toBe(0);
    expect(stdout).toBe('ok: dbwarden.yaml: 3 components (2 with database access), 2 targets\n');
  });
});

describe('validate: rules across files', () => {
  const dir = `${fixtures}/dup-components`;

  it('exits 2 on a component defined in two files, naming both', async () => {
    const { code, stderr } = await run(['validate', '--config', `${dir}/dbwarden.yaml`]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual([`${dir}/policies/b-web.yaml:2:12: error: duplicate component "web"`]);
    // The first definition is named too, relative to the working directory like the error itself.
    expect(stderr).toContain(`first defined at ${dir}/policies/a-web.yaml:1:12`);
  });

  it('finds the duplicate component in a policy directory checked without a config', async () => {
    const { code, stderr } = await run(['validate', `${dir}/policies`]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual([expect.stringContaining('duplicate component "web"')]);
  });

  it('exits 2 on a policy kind no target has, and prints the unused target kind as a warning', async () => {
    const { code, stdout, stderr } = await run(['validate', '--config', `${fixtures}/kinds/dbwarden.yaml`]);
    expect(code).toBe(2);
    expect(stderr.split('\n').filter((line) => /: (error|warning): /.test(line))).toEqual([
      `${fixtures}/kinds/policies/web.yaml:6:3: error: database kind "billing" has no target`,
      `${fixtures}/kinds/dbwarden.yaml:9:11: warning: target "shop_archive" has kind "archive", which no policy uses: dbwarden will grant nothing there`,
    ]);
    expect(stdout).toBe('invalid: 1 error, 1 warning; nothing was changed\n');
  });

  it('still runs cross-file checks when another policy file is broken', async () => {
    const dir = `${fixtures}/partial`;
    const { code, stderr } = await run(['validate', '--config', `${dir}/dbwarden.yaml`]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual([
      `${dir}/policies/a-broken.yaml:5:16: error: unknown verb "selct"`,
      `${dir}/policies/b-billing.yaml:3:3: error: database kind "billing" has no target`,
    ]);
  });

  it('exits 0 when an unused target kind is the only finding', async () => {
    const { code, stdout, stderr } = await run([
      'validate',
      '--config',
      `${fixtures}/kinds/unused-kind.yaml`,
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain(`${fixtures}/kinds/unused-kind.yaml:9:11: warning: target "shop_archive"`);
    expect(stdout).toContain(', 2 targets, 1 warning\n');
  });
});

describe('usage errors exit 2', () => {
  it.each([
    [['frobnicate'], "error: unknown command 'frobnicate'"],
    [['validate', '--bogus'], "error: unknown option '--bogus'"],
    [['validate', '--format', 'xml'], "error: option '--format <format>' argument 'xml' is invalid"],
    [['schema', 'everything'], "error: command-argument value 'everything' is invalid for argument 'which'"],
    [['downgrade'], "error: required option '--to <name>' not specified"],
  ])('%j', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toContain('(run with --help for usage)');
  });

  it('prints the usage error as one JSON document when --format json was asked for', async () => {
    const { code, stdout } = await run(['--format', 'json', 'frobnicate']);
    expect(code).toBe(2);
    expect(jsonOf(stdout)).toEqual({
      ok: false,
      error: { kind: 'usage', message: "error: unknown command 'frobnicate'" },
    });
  });

  it('prints the usage and exits 2 when no command is given', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: dbwarden [options] [command]');
    const json = await run(['--format', 'json']);
    expect(json.code).toBe(2);
    expect(jsonOf(json.stdout)).toEqual({
      ok: false,
      error: { kind: 'usage', message: 'error: no command given' },
    });
  });
});

describe('upgrade, downgrade, status and verify --secrets refuse bad input before connecting', () => {
  const config = `${fixtures}/good/dbwarden.yaml`;

  it('downgrade --to a migration that does not exist exits 2, listing them', async () => {
    const { code, stderr } = await run(['downgrade', '--to', 'nope', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain('--to nope: no such migration');
    expect(stderr).toContain('use base or one of: 001_key_columns, 002_encrypt');
  });

  it('upgrade reads the master keys first: a missing key file exits 2 naming the key', async () => {
    const { code, stderr } = await run(['upgrade', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain('k2');
  });

  it.each([
    [['upgrade', '--batch-size', '0'], 'expected whole rows between 1 and 100000'],
    [['verify', '--sample', '5'], '--sample goes with --secrets'],
    [['verify', '--secrets', '--sample', '0'], 'expected a whole number of at least 1'],
  ])('%j exits 2', async (argv, message) => {
    const { code, stderr } = await run([...argv, '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});

describe('--help', () => {
  it.each([
    ['validate', ['[paths...]', 'Reports every problem at once']],
    ['schema', ['[which]', 'policy, config, or both']],
    ['plan', ['--exit-code', '--component <name...>']],
    ['apply', ['--rotate-passwords', '--component <name...>']],
    ['verify', ['--secrets', '--sample <n>']],
    ['upgrade', ['run pending migrations', '--batch-size <rows>', 'Key rotation']],
    ['downgrade', ['--to <name>', '001_key_columns, 002_encrypt']],
    ['status', ['migrations applied', 'safe to remove']],
  ])('of %s exits 0 and prints its options and the global ones', async (command, wanted) => {
    const { code, stdout, stderr } = await run([command, '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`Usage: dbwarden ${command} [options]`);
    for (const text of [...wanted, '-h, --help', '-c, --config <path>', '--format <format>']) {
      expect(stdout).toContain(text);
    }
  });

  it('of the program lists every command and the exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const command of [
      'validate',
      'schema',
      'plan',
      'apply',
      'verify',
      'upgrade',
      'downgrade',
      'status',
    ]) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(stdout).toContain('2  invalid input');
  });

  it('is also reached with `help <command>`', async () => {
    const { code, stdout } = await run(['help', 'plan']);
    expect(code).toBe(0);
    expect(stdout).toContain('--exit-code');
  });
});

describe('schema and --version', () => {
  it('schema prints one JSON document with the policy and config schemas', async () => {
    const { code, stdout } = await run(['schema']);
    expect(code).toBe(0);
    const schemas = jsonOf(stdout);
    expect(Object.keys(schemas).sort()).toEqual(['config', 'policy']);
    expect(schemas.config).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['app', 'targets']),
    });
  });

  it('schema policy prints the policy JSON Schema, with component and databases', async () => {
    const { code, stdout } = await run(['schema', 'policy']);
    expect(code).toBe(0);
    const schema = jsonOf(stdout);
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties as object)).toEqual(
      expect.arrayContaining(['component', 'description', 'databases']),
    );
    expect(schema.required).toEqual(['component']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('schema config prints the config JSON Schema', async () => {
    const schema = jsonOf((await run(['schema', 'config'])).stdout);
    expect(Object.keys(schema.properties as object)).toEqual(
      expect.arrayContaining(['app', 'policies', 'targets', 'credentials', 'secrets', 'masterKey']),
    );
  });

  it.each([['--version'], ['-V']])('%s prints the package.json version', async (flag) => {
    const { code, stdout } = await run([flag]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${version}\n`);
  });
});

// dist/ is built by test/harness/build-dist.ts before any test file runs.
describe('the real binary', () => {
  it('exits 2 on a broken fixture and 0 on a good one, as a child process', () => {
    const validate = (config: string) =>
      spawnSync(process.execPath, ['bin/dbwarden.js', 'validate', '--config', config], {
        cwd: root,
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
        timeout: 60_000,
      });
    const broken = validate(`${fixtures}/broken/dbwarden.yaml`);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain(`${fixtures}/broken/policies/web.yaml:6:24: error: unknown verb "insrt"`);
    expect(broken.stdout).toBe('invalid: 8 errors; nothing was changed\n');
    const good = validate(`${fixtures}/good/dbwarden.yaml`);
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
  }, 60_000);
});

describe('plan, apply and verify before any connection', () => {
  it('exit 2 on an invalid config, with every problem, and never connect', async () => {
    for (const command of ['plan', 'apply', 'verify']) {
      const { code, stderr } = await run([command, '--config', `${fixtures}/broken/dbwarden.yaml`]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${fixtures}/broken/policies/web.yaml:6:24: error: unknown verb "insrt"`);
      expect(stderr).toContain('dbwarden: invalid input: 8 errors; nothing was changed');
    }
  });

  it('--format sql is plan-only, and --lock-wait takes whole seconds', async () => {
    const sql = await run(['apply', '--format', 'sql', '--config', `${fixtures}/good/dbwarden.yaml`]);
    expect(sql.code).toBe(2);
    expect(sql.stderr).toContain('--format sql is only for "dbwarden plan", not "apply"');
    const wait = await run(['apply', '--lock-wait', '0']);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain('expected whole seconds between 1 and 86400');
  });

  it('an unknown --component exits 2 naming the components there are', async () => {
    const { code, stderr } = await run([
      'plan',
      '--component',
      'nope',
      '--config',
      `${fixtures}/good/dbwarden.yaml`,
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('--component names no component of the policies: nope');
  });

  it('an unreachable server exits 1 naming the target, never the URL or its password', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-cli-'));
    fs.writeFileSync(
      path.join(dir, 'api.yaml'),
      'component: api\ndatabases:\n  main:\n    tables:\n      t: [select]\n',
    );
    fs.writeFileSync(
      path.join(dir, 'dbwarden.yaml'),
      'app: shop\npolicies: api.yaml\ntargets:\n  - { name: shop_main, kind: main, url: "${MAIN_URL}" }\ncredentials: { dir: creds }\n',
    );
    const { code, stderr } = await run(['plan', '--config', path.join(dir, 'dbwarden.yaml')], {
      env: { MAIN_URL: 'postgres://admin:s3cret-pw@127.0.0.1:1/shop' },
    });
    fs.rmSync(dir, { recursive: true });
    expect(code).toBe(1);
    expect(stderr).toContain('target shop_main: could not connect');
    expect(stderr).not.toContain('s3cret-pw');
  });
});

describe('targets on one database, and a variable set but empty', () => {
  /** A temp dir with one policy and a config whose targets are `targetLines`; run with it as cwd. */
  function deployment(targetLines: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-cli-'));
    fs.writeFileSync(
      path.join(dir, 'api.yaml'),
      'component: api\ndatabases:\n  main:\n    tables:\n      t: [select]\n  audit:\n    tables:\n      a: [select]\n',
    );
    fs.writeFileSync(
      path.join(dir, 'dbwarden.yaml'),
      ['app: shop', 'policies: api.yaml', 'targets:', ...targetLines, 'credentials: { dir: creds }', ''].join(
        '\n',
      ),
    );
    return dir;
  }
  const SAME_DB_HINT =
    '    each target must be its own database: keep one of them; if the two kinds are the same database, ' +
    'use one kind for it (move the tables the policies list under the other kind to this one)';

  it('validate, plan and apply exit 2 naming both targets, never their credentials, and write nothing', async () => {
    const dir = deployment([
      '  - { name: shop_main, kind: main, url: "${MAIN_URL}" }',
      '  - { name: shop_audit, kind: audit, url: "${AUDIT_URL}" }',
    ]);
    const env = {
      MAIN_URL: 'postgres://admin:first-pw@127.0.0.1:1/shop',
      AUDIT_URL: 'postgresql://auditor:second-pw@127.0.0.1:1/shop?sslmode=disable',
    };
    try {
      const validated = await run(['validate'], { cwd: dir, env });
      expect(validated.code).toBe(2);
      expect(errorLines(validated.stderr)).toEqual([
        'dbwarden.yaml:5:43: error: targets "shop_main" and "shop_audit" are the same database "shop" on 127.0.0.1:1',
      ]);
      expect(validated.stderr).toContain(`${SAME_DB_HINT}\n    target "shop_main" is at dbwarden.yaml:4:41`);
      expect(validated.stdout).toBe('invalid: 1 error; nothing was changed\n');
      for (const command of ['plan', 'apply']) {
        const { code, stdout, stderr } = await run([command], { cwd: dir, env });
        expect(code).toBe(2);
        expect(stderr).toContain('are the same database "shop" on 127.0.0.1:1');
        expect(`${stdout}${stderr}`).not.toMatch(/first-pw|second-pw|could not connect/);
      }
      expect(fs.existsSync(path.join(dir, 'creds'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('a urlFile on the same database as another target is refused by plan before connecting', async () => {
    const dir = deployment([
      '  - { name: shop_main, kind: main, url: "postgres://admin:first-pw@127.0.0.1:1/shop" }',
      '  - { name: shop_audit, kind: audit, urlFile: audit-url }',
    ]);
    fs.writeFileSync(path.join(dir, 'audit-url'), 'postgres://auditor:second-pw@127.0.0.1:1/shop\n');
    try {
      expect((await run(['validate'], { cwd: dir })).code).toBe(0);
      const { code, stdout, stderr } = await run(['plan'], { cwd: dir });
      expect(code).toBe(2);
      expect(stderr).toContain(
        'targets shop_audit and shop_main are the same database "shop" on 127.0.0.1:1',
      );
      expect(`${stdout}${stderr}`).not.toMatch(/first-pw|second-pw|could not connect/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('an empty variable is named with file:line:col instead of "url is not a URL"', async () => {
    const dir = deployment([
      '  - { name: shop_main, kind: main, url: "${MAIN_URL}" }',
      '  - { name: shop_audit, kind: audit, url: "postgres://db/audit" }',
    ]);
    try {
      const { code, stderr } = await run(['validate'], { cwd: dir, env: { MAIN_URL: '' } });
      expect(code).toBe(2);
      expect(errorLines(stderr)).toEqual([
        'dbwarden.yaml:4:41: error: target "shop_main": url is empty: environment variable MAIN_URL is set but empty',
      ]);
      expect(stderr).toContain(
        'set MAIN_URL to the admin URL (or its part), or give a default with ${MAIN_URL:-...}',
      );
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
