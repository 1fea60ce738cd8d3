import { defineConfig } from 'vitest/config';
import { EveryFileRan } from './test/helpers/every-file-ran.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Sized for CI's busy 2-core machine (beside a CPU-bound process, end-to-end tests run 3–4 times
    // slower): tests wait for events, and these limits only catch a test that hangs.
    testTimeout: 180_000,
    hookTimeout: 600_000,
    teardownTimeout: 60_000,
    // Two cores: end-to-end tests spawn processes, so cap the parallelism.
    maxWorkers: 2,
    reporters: ['default', new EveryFileRan()],
  },
});
