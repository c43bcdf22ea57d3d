/**
 * Ends every run with one plain line, `tests: N passed, N failed, N skipped`, that CI reads, and
 * fails the run when any test was skipped: a skipped test is not a passing one.
 *
 * A test that did not run because its set-up failed (a beforeAll, a test file that did not load, a
 * globalSetup) is not a skip: it counts as failed, and the lines before the summary name the
 * set-up that failed and its cause. `skipped tests are not allowed` appears only for tests that were
 * really skipped (.skip, .todo, skipIf, ctx.skip()).
 */
import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

export interface RunSummary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** One entry per failed set-up: where, its cause, how many tests it kept from running. */
  readonly setupFailures: readonly string[];
  /** Tests skipped on purpose, by full name. */
  readonly skippedNames: readonly string[];
}

/** Counts the tests of a run, telling set-up failures from real skips. */
export function summarize(
  testModules: readonly TestModule[],
  unhandledErrors: readonly SerializedError[],
  reason: TestRunEndReason,
): RunSummary {
  let passed = 0;
  let failed = 0;
  const skippedNames: string[] = [];
  const setupFailures: string[] = [];
  for (const module of testModules) {
    const failedSetups = new Map<TestModule | TestSuite, number>();
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failed++;
      else {
        const setup = failedSetupOf(test);
        if (setup === undefined) skippedNames.push(`${module.relativeModuleId} > ${test.fullName}`);
        else {
          failed++;
          failedSetups.set(setup, (failedSetups.get(setup) ?? 0) + 1);
        }
      }
    }
    for (const owner of [module, ...module.children.allSuites()]) {
      const errors = owner.errors();
      if (errors.length === 0) continue;
      const where =
        owner.type === 'module'
          ? `${module.relativeModuleId} (the file itself)`
          : `${module.relativeModuleId} > ${owner.fullName}`;
      const kept = failedSetups.get(owner) ?? 0;
      // A module that did not load has no tests: the file itself is one failure.
      if (owner.type === 'module' && module.children.size === 0) failed++;
      setupFailures.push(
        `set-up failed: ${where}${kept > 0 ? `; ${kept} test${kept === 1 ? '' : 's'} did not run` : ''}\n${indent(errors)}`,
      );
    }
  }
  if (unhandledErrors.length > 0) {
    setupFailures.push(`${unhandledErrors.length} error(s) outside any test:\n${indent(unhandledErrors)}`);
  } else if (testModules.length === 0 && reason === 'failed') {
    // A failed globalSetup (no server, no dist/) ends the run here with no test file and no error
    // handed to reporters; vitest prints the error itself.
    setupFailures.push(
      "set-up failed before any test file ran: a globalSetup (test/harness/build-dist.ts or global-setup.ts); its error is printed with this run's output",
    );
  }
  return { passed, failed, skipped: skippedNames.length, setupFailures, skippedNames };
}

/** The nearest suite (or the file) whose set-up failed, above a test that did not run. */
function failedSetupOf(test: TestCase): TestModule | TestSuite | undefined {
  let parent: TestModule | TestSuite = test.parent;
  for (;;) {
    if (parent.errors().length > 0) return parent;
    if (parent.type === 'module') return undefined;
    parent = parent.parent;
  }
}

function indent(errors: readonly SerializedError[]): string {
  return errors
    .map((e) => `  ${(e.message || e.name || 'unknown error').split('\n').slice(0, 12).join('\n  ')}`)
    .join('\n');
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: readonly TestModule[],
    unhandledErrors: readonly SerializedError[],
    reason: TestRunEndReason,
  ): void {
    const summary = summarize(testModules, unhandledErrors, reason);
    for (const failure of summary.setupFailures) process.stderr.write(`\n${failure}\n`);
    process.stdout.write(
      `\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`,
    );
    if (summary.skipped > 0) {
      process.stderr.write(
        `skipped tests are not allowed: remove .skip/.todo or make the test run:\n` +
          summary.skippedNames
            .slice(0, 20)
            .map((name) => `  ${name}\n`)
            .join('') +
          (summary.skipped > 20 ? `  ... and ${summary.skipped - 20} more\n` : ''),
      );
    }
    if (summary.skipped > 0 || summary.setupFailures.length > 0) process.exitCode = 1;
  }
}
