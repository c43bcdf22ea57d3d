/**
 * Output that reads well (issue 15, point 13), on every engine: colour on a terminal for plan and
 * verify (and never off one, in JSON, or with --no-color / NO_COLOR), --quiet down to the
 * verdict, --verbose showing each statement as it runs, with no password in it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { paint } from '../../../src/cli/style.js';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, runProcess, type Scenario } from './scenario.js';

// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[/;

describe.each(ENGINES)('colour, --quiet and --verbose on $title', (engine) => {
  let s: Scenario;
  /** In-process, with stdout a terminal or not and more environment. */
  const cli = async (options: { tty: boolean; env?: Record<string, string> }, ...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(['--config', path.join(s.dir, 'dbwarden.yaml'), ...args], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: { ...s.env, ...options.env },
      cwd: s.dir,
      stdoutTty: options.tty,
    });
    return { code, stdout, stderr };
  };
  /** The real binary, stdout a pipe, with more environment. */
  const binary = (env: Record<string, string>, ...args: string[]) =>
    runProcess(process.execPath, s.binaryArgs(...args), { cwd: s.dir, env: { ...s.env, ...env } });

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table items (${engine.serialId}, name text)`,
      policies: [{ component: 'api', tables: { items: ['select'] } }],
    });
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('plan on a terminal: + lines green, the verdict bold; never with --no-color, NO_COLOR, off a terminal', async () => {
    const login = `${s.app}_api`;
    const coloured = await cli({ tty: true }, 'plan');
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain(`    ${paint('green', `+ create login ${login}`)}`);
    expect(coloured.stdout).toContain(paint('bold', 'Plan:'));
    for (const plain of [
      await cli({ tty: true }, 'plan', '--no-color'),
      await cli({ tty: true, env: { NO_COLOR: '1' } }, 'plan'),
      await cli({ tty: false }, 'plan'),
      await binary({}, 'plan'),
    ]) {
      expect(plain.stdout).toContain(`    + create login ${login}`);
      expect(plain.stdout).not.toMatch(ESCAPE);
    }
    const forced = await binary({ FORCE_COLOR: '1' }, 'plan');
    expect(forced.stdout).toContain(paint('green', `+ create login ${login}`));
    const json = await binary({ FORCE_COLOR: '1' }, 'plan', '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ app: s.app });
    expect(json.stdout).not.toMatch(ESCAPE);
  });

  it('plan --quiet prints only the verdict', async () => {
    const quiet = await cli({ tty: false }, 'plan', '--quiet');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^Plan: \d+ to add, 0 to change, 0 to remove, on 1 of 1 target\.\n$/);
    expect(quiet.stderr).toBe('');
  });

  it('apply --verbose shows each statement as it runs, without the password', async () => {
    const verbose = await cli({ tty: false }, 'apply', '--verbose');
    expect(verbose.code).toBe(0);
    const lines = verbose.stderr.split('\n').filter((l) => l.startsWith('target main1: create login'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CREATE (ROLE|USER)/i);
    const { password } = s.credentials('api');
    expect(password.length).toBeGreaterThan(10);
    expect(verbose.stderr).not.toContain(password);
    const plain = await cli({ tty: false }, 'apply', '--rotate-passwords');
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('target main1:');
    expect(plain.stderr).not.toMatch(/ALTER (ROLE|USER)/i);
  });

  it('verify on a terminal: ok green; --quiet only the verdict', async () => {
    const coloured = await cli({ tty: true }, 'verify');
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain(`${paint('green', 'ok')}    api on main1`);
    const quiet = await cli({ tty: true }, 'verify', '--quiet', '--no-color');
    expect(quiet.stdout).toBe('Verify: ok, 1 component checked.\n');
  });
});
