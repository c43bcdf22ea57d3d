import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A skipped test is not a passing test: fail the run if any test is marked skip/todo.
    allowOnly: false,
    passWithNoTests: false,
  },
});
