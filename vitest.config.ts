import { defineConfig } from 'vitest/config';

// chDB is a process-wide singleton holding one data directory, so every test
// file runs in its own forked process; within a process, tests isolate by
// database or tenant (see test/helpers/store.ts).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
