import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

/**
 * Two projects, each test file in exactly one, so `npm test` runs everything once:
 *
 *   unit         no server: test/unit (pure code), test/cli, test/repo, test/chart, test/tooling.
 *                Only dist/ is built (test/harness/build-dist.ts: some tests spawn bin/dbwarden.js
 *                or dist's crypto worker), and only when src/ changed. `npm run test:unit`.
 *   integration  real servers: one PostgreSQL and one MariaDB (or MySQL) server for the whole run,
 *                started in parallel and shared by every test file (test/harness/global-setup.ts).
 *                The shared scenarios in test/integration/engines/ run once per engine of
 *                test/harness/engines.ts; DBWARDEN_TEST_ENGINES=postgres|mysql selects engines.
 *
 * vitest runs a project's globalSetup only when a file of that project is selected: `npx vitest run
 * test/unit/...` starts no server.
 */
const UNIT = ['test/unit', 'test/cli', 'test/repo', 'test/chart', 'test/tooling'];

export default defineConfig({
  test: {
    // .only must never reach CI: it would silently skip the rest of the suite.
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default', new SummaryReporter()],
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT.map((dir) => `${dir}/**/*.test.ts`),
          globalSetup: ['test/harness/build-dist.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/harness/build-dist.ts', 'test/harness/global-setup.ts'],
          // Integration tests talk to real servers: allow for slow machines and busy parallel workers.
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
