import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One project per kind of suite. Suites that start processes or own a Redis run their
// files one at a time (no file parallelism): they would fight for 2 cores and ports.
const alias = { redmap: fileURLToPath(new URL('./index.ts', import.meta.url)) };

/** A suite of real processes: one file at a time, the leak check after each test. */
function processSuite(name: string, timeoutMs: number, sharedRedis: boolean) {
  return {
    resolve: { alias },
    test: {
      name,
      include: [`test/${name}/**/*.test.ts`],
      // The suites that share the one test Redis find or start it once; the others own theirs.
      globalSetup: sharedRedis ? ['test/support/redis-global-setup.ts'] : [],
      setupFiles: ['test/support/leak-check.ts'],
      fileParallelism: false,
      testTimeout: timeoutMs,
      hookTimeout: 60_000,
    },
  };
}

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      processSuite('integration', 60_000, true),
      // Each fault test owns its redis-server (it kills and restarts it) and real worker processes.
      processSuite('faults', 180_000, false),
      // Hosts made of network namespaces (needs root): Redis and the workers of each host as real processes.
      processSuite('multihost', 180_000, false),
      // Debian's Chromium driven by playwright-core against the real dashboard, workers and Redis.
      processSuite('browser', 180_000, true),
      // Outside `npm test` (npm run soak:failover): seeded failovers with lost writes, minutes long.
      processSuite('soak', 3_600_000, false),
    ],
  },
});
