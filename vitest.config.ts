import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the broker, emulator and registry that are not running yet, and stops them after.
    globalSetup: ['test/support/global-setup.ts'],
    // Integration and e2e tests share one broker: run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Off unless asked (`--coverage.enabled`, as .ci/run does on its first run): the code under src/
    // that the tests run in-process; spawned callstream processes are not counted.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // A failing test must not also hide the coverage report (.ci/run then counts it as a second failure).
      reportOnFailure: true,
    },
  },
});
