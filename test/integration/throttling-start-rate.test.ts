/**
 * `status` reports a run's start rate over the last 10 s. Under a full job cap, a call that
 * gets its run's slot but not the job's gives back what it took from the run and asks again;
 * those refused attempts must not count as starts, nor spend the run's rate tokens.
 */
import { describe, expect } from 'vitest';
import { Limiter } from '../../worker/limits/limiter.js';
import { silentLogger } from '../../shared/logger.js';
import { jobLimiterKeys, runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch, startSupervisedWorkers } from '../support/faults.js';
import { type CallSpan } from '../support/overlap.js';
import { it } from '../support/fixtures.js';
import { openClient, redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/timed-calls.ts';

describe('the start rate status shows', () => {
  it('counts the calls that started, not the attempts a full job cap refused', async ({ redis: client, prefix }) => {
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
      const ended = readLedger(ledger) as unknown as CallSpan[];
      const [before] = await client.time();
      const status = JSON.parse((await runCli(['status', runId, '--json'], { env })).stdout) as {
        limits: { run: { startsPerSecond: number } };
      };
      const [after] = await client.time();
      // At most one call in flight besides those recorded: that many starts, over the 10 s window.
      const started = readLedger(ledger).length + 1;
      expect((await running.result).stdout).toBe('{"key":"x","value":16}\n');
      const counted = status.limits.run.startsPerSecond * 10;
      expect(counted).toBeLessThanOrEqual(started);
      // Status counts the starts of the 10 whole seconds (Redis's) before its own: every call
      // that ended before it and started in the seconds surely inside that window counts. A
      // start is counted in the second of its admission, a moment before: hence one second
      // less at the old end.
      const inWindow = ended.filter((call) => {
        const second = Math.floor(call.start / 1000);
        return second >= Number(after) - 9 && second <= Number(before) - 1;
      });
      expect(inWindow.length, 'calls that ended before status, all in its window').toBeGreaterThan(0);
      expect(counted).toBeGreaterThanOrEqual(inWindow.length);
    } finally {
      await workers.stop();
    }
  });
});

describe('a call the job refuses', () => {
  it("gives back its run's lease, start and rate token: once the job has room, the run's next call starts at once", async ({
    redis: client,
    prefix,
  }) => {
    const limiterClient = await openClient();
    const limiter = new Limiter(limiterClient, prefix, 'refusing-job', silentLogger());
    const run = runKeys(prefix, 'r1');
    const startsCounted = async (): Promise<number> =>
      (await client.hvals(run.limiter.starts)).reduce((sum, value) => sum + Number(value), 0);
    try {
      await limiter.start({ concurrency: 1 });
      // Someone else holds the job's only slot; the run may start 1 call a minute, 5 at once.
      const jobSlots = jobLimiterKeys(prefix, 'refusing-job').slots;
      await client.zadd(jobSlots, Date.now() + 60_000, 'someone-else');
      await client.hset(run.meta, { state: 'mapping', concurrency: 5, rateCount: 1, ratePeriodMs: 60_000 });
      const gate = await limiter.gateFor({ id: 'r1', incarnation: 'i1' }, true);
      await expect(gate(AbortSignal.timeout(600), { firstOfTask: false })).rejects.toThrow();
      // Commands on one connection run in order: after this reply, every give-back has run.
      await limiterClient.ping();
      expect(await client.zcard(run.limiter.slots)).toBe(0);
      expect(await startsCounted()).toBe(0);
      expect(await client.exists(run.limiter.bucket)).toBe(0);

      // Had a refused attempt spent the minute's token, this call would wait for the next minute.
      await client.zrem(jobSlots, 'someone-else');
      const release = await gate(AbortSignal.timeout(5000), { firstOfTask: false });
      expect(await startsCounted()).toBe(1);
      expect(await client.zcard(run.limiter.slots)).toBe(1);
      release();
    } finally {
      limiter.stop();
      await limiterClient.close();
    }
  });
});
