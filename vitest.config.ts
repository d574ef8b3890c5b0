import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Refuses to run on a shared Redis that can lose acknowledged writes (docs/durability.md).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files share one Redis server (each under its own key prefix) and spawn worker
    // processes; two files at a time keeps a 2-core CI machine responsive.
    maxWorkers: 2,
  },
});
