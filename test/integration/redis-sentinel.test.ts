/**
 * Redis through Sentinel (a primary, one replica, three Sentinels with a password), reached by
 * the public API and the CLI: startWorker and submitRun take a redis+sentinel:// URL or its
 * settings, the Sentinel password comes from REDIS_SENTINEL_PASSWORD(_FILE) and is never
 * printed, and a missing one is said plainly. Failover: test/faults/sentinel-failover.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defineJob, submitRun, z } from '../../index.js';
import { RedisError } from '../../shared/errors.js';
import { parseRedisUrl } from '../../shared/redis/redis-connection.js';
import { runCli } from '../support/cli.js';
import { startSentinelSetup, type TestSentinelSetup } from '../support/redis-sentinel.js';
import { openClient, testPrefix, wipePrefix } from '../support/test-redis.js';
import { startTestWorker } from '../support/workers.js';

const SENTINEL_PASSWORD = `sentinel-secret-${process.pid}`;

const job = defineJob({
  name: 'sentinel-words',
  input: z.string(),
  *map(line: string) {
    for (const word of line.split(' ')) yield [word, 1] as const;
  },
  reduce: (_key: string, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

let setup: TestSentinelSetup;
const dir = mkdtempSync(join(tmpdir(), 'redmap-sentinel-test-'));

beforeAll(async () => {
  setup = await startSentinelSetup({ sentinelPassword: SENTINEL_PASSWORD });
}, 60_000);

afterAll(async () => {
  await setup?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis through Sentinel', () => {
  it('startWorker (settings) and submitRun (URL, password from the environment) run a job on the primary the Sentinels name', async () => {
    const prefix = testPrefix();
    const primary = await openClient(setup.primary.url);
    vi.stubEnv('REDIS_SENTINEL_PASSWORD', SENTINEL_PASSWORD);
    const worker = await startTestWorker(job, { prefix, redis: { ...parseRedisUrl(setup.url), sentinelPassword: SENTINEL_PASSWORD } });
    const inputs = ['a b', 'b c', 'c a', 'a a'];
    const run = await submitRun(job, inputs, { redis: setup.url, prefix, chunkSize: 1 });
    try {
      expect((await run.done()).state).toBe('done');
      const results: Record<string, unknown> = {};
      for await (const entry of run.results()) results[entry.key] = entry.value;
      expect(results).toEqual({ a: 4, b: 2, c: 2 });
      // The data went to the primary.
      expect((await primary.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
    } finally {
      vi.unstubAllEnvs();
      await run.close();
      await worker.close();
      await wipePrefix(primary, prefix);
      await primary.close();
    }
  }, 30_000);

  it('refuses a missing Sentinel password, naming REDIS_SENTINEL_PASSWORD', async () => {
    const refused = await submitRun(job, ['a'], { redis: parseRedisUrl(setup.url), prefix: testPrefix() }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RedisError);
    expect((refused as RedisError).message).toMatch(/refused their password.*REDIS_SENTINEL_PASSWORD/);
  }, 30_000);

  it('the CLI reads REDIS_SENTINEL_PASSWORD_FILE and never prints the password, even at debug level', async () => {
    const file = join(dir, 'sentinel.pw');
    writeFileSync(file, `${SENTINEL_PASSWORD}\n`);
    const env = { REDIS_URL: setup.url, REDIS_SENTINEL_PASSWORD_FILE: file, REDMAP_LOG_LEVEL: 'debug' };
    const result = await runCli(['runs'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('no runs');
    expect(result.stdout + result.stderr).not.toContain(SENTINEL_PASSWORD);
  }, 30_000);
});
