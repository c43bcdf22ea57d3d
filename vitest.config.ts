import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // .only must never reach CI: it would silently skip the rest of the suite.
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default', new SummaryReporter()],
  },
});
