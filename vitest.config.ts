import { defineConfig } from 'vitest/config';
import { EveryFileRan } from './test/helpers/every-file-ran.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Sized for CI's busy 2-core machine: beside CPU-bound processes a whole strategy run takes several
    // times longer than at idle. Tests wait for events and set no timeouts of their own; these limits
    // only catch a test that hangs (strategy C took over 15 min at a load of 20).
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    teardownTimeout: 60_000,
    // Two cores: end-to-end tests spawn processes, so cap the parallelism.
    maxWorkers: 2,
    reporters: ['default', new EveryFileRan()],
  },
});
