import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // .only must never reach CI: it would silently skip the rest of the suite.
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default', new SummaryReporter()],
    // dist/ built once for tests that spawn the real binary; one PostgreSQL server and one MariaDB
    // (or MySQL) server for the whole run, started in parallel and shared by every test file
    // (test/harness/global-setup.ts). The shared scenarios in test/integration/engines/ run once per
    // engine of test/harness/engines.ts; DBWARDEN_TEST_ENGINES=postgres|mysql selects engines.
    globalSetup: ['test/harness/build-dist.ts', 'test/harness/global-setup.ts'],
    // Integration tests talk to real servers: allow for slow machines and busy parallel workers.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
