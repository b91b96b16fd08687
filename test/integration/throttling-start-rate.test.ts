/**
 * `status` reports a run's start rate over the last 10 s. Under a full job cap, a call that
 * gets its run's slot but not the job's gives the run's slot back and asks again; those
 * refused attempts must not count as starts.
 */
import { describe, expect, it } from 'vitest';
import { runsIndexKey } from '../../shared/redis-keys.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch, startSupervisedWorkers, waitFor } from '../support/faults.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';

const JOB = 'test/fixtures/jobs/timed-calls.ts';

describe('the start rate status shows', () => {
  // KNOWN BUG, reported, not fixed here (the limiter is another engineer's): Limiter.gateFor
  // takes the run's slot first, and acquire-slot.lua records a start (and takes a rate token)
  // for the run right then; when the job's step refuses, only the run's lease is given back.
  // Measured: 146 starts counted in 10 s where at most 7 calls had started. Drop `.fails`
  // once refused attempts no longer count.
  it.fails('counts the calls that started, not the attempts a full job cap refused', async () => {
    const prefix = testPrefix();
    const client = await openClient();
    const { ledger } = scratch();
    const env = {
      REDIS_URL: redisUrl(),
      REDMAP_PREFIX: prefix,
      REDMAP_TEST_LOG: ledger,
      REDMAP_TEST_JOB_CAP: '1',
      REDMAP_TEST_DELAY_MS: '500',
    };
    // 6 calls wait on a job cap of 1; a run rate far above what the cap allows makes status count starts.
    const workers = startSupervisedWorkers(JOB, 1, env, ['--concurrency', '6']);
    try {
      await workers.ready(1);
      const items = Array.from({ length: 16 }, (_, i) => `x${i}`);
      const running = startCli(['submit', JOB, ...items, '--chunk-size', '1', '--rate', '50/s', '--wait', '--quiet'], { env });
      await waitFor('calls to run', () => (readLedger(ledger).length >= 5 ? true : undefined));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const status = JSON.parse((await runCli(['status', runId, '--json'], { env })).stdout) as {
        limits: { run: { startsPerSecond: number } };
      };
      // At most one call in flight besides those recorded: that many starts, over the 10 s window.
      const started = readLedger(ledger).length + 1;
      expect((await running.result).stdout).toBe('{"key":"x","value":16}\n');
      expect(status.limits.run.startsPerSecond * 10).toBeLessThanOrEqual(started);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
      await client.close();
    }
  });
});
