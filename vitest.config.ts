import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One project per kind of suite. Suites that start processes or own a Redis run their
// files one at a time (no file parallelism): they would fight for 2 cores and ports.
const alias = { redmap: fileURLToPath(new URL('./index.ts', import.meta.url)) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/redis-global-setup.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // Each fault test owns its redis-server (it kills and restarts it) and real worker processes.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // Hosts made of network namespaces (needs root): Redis and the workers of each host as real processes.
          name: 'multihost',
          include: ['test/multihost/**/*.test.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // Debian's Chromium driven by playwright-core against the real dashboard, workers and Redis.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/support/redis-global-setup.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
