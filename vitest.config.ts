import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end tests spawn processes, so cap the parallelism.
    maxWorkers: 2,
  },
});
