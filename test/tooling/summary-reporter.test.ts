/**
 * test/summary-reporter.ts on real vitest runs of purpose-made files (test/fixtures/reporter/):
 * a set-up that fails is reported as a failure with its cause, never blamed on .skip/.todo, and a
 * real skip still fails the run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/reporter');

function vitest(env: Record<string, string>) {
  const run = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      path.join(fixtures, 'vitest.config.ts'),
    ],
    {
      cwd: fixtures,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the summary line', () => {
  it('counts tests whose beforeAll failed as failed, names the set-up and its cause, and blames no skip', () => {
    const run = vitest({ REPORTER_CASE: 'setup-fails' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('tests: 1 passed, 3 failed, 0 skipped');
    expect(run.stderr).toContain(
      "set-up failed: setup-fails/before-all.fixture.ts > needs a package; 2 tests did not run\n  No module named 'nova'\n  Fix: as root, run: apt-get install python3-nova",
    );
    expect(run.stderr).toContain(
      'set-up failed: setup-fails/does-not-load.fixture.ts (the file itself)\n  this file does not load',
    );
    expect(run.stderr).not.toContain('skipped tests are not allowed');
  }, 60_000);

  it('fails a run with a real skip and names the test', () => {
    const run = vitest({ REPORTER_CASE: 'skipped' });
    expect(run.stdout).toContain('tests: 1 passed, 0 failed, 1 skipped');
    expect(run.stderr).toContain(
      'skipped tests are not allowed: remove .skip/.todo or make the test run:\n  skipped/skip.fixture.ts > left out on purpose',
    );
    expect(run.stderr).not.toContain('set-up failed');
    expect(run.code).toBe(1);
  }, 60_000);

  it('says that a globalSetup failed when no test file ran', () => {
    const run = vitest({ REPORTER_CASE: 'skipped', REPORTER_GLOBAL_SETUP: 'fail' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('tests: 0 passed, 0 failed, 0 skipped');
    expect(run.stderr).toContain('set-up failed before any test file ran: a globalSetup');
    expect(run.stderr).toContain('no server here: install postgresql');
    expect(run.stderr).not.toContain('skipped tests are not allowed');
  }, 60_000);
});
