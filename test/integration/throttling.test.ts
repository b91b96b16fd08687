/**
 * Limits that hold across every process: a concurrency cap and a rate, per job and per run,
 * changed while runs go on, recovering from a worker that died holding slots. Every check
 * measures the map calls themselves (their recorded start and end), not the limiter.
 */
import { describe, expect } from 'vitest';
import { jobLimiterKeys, runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { throttleRun } from '../../shared/run/throttle.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch, signal, startSupervisedWorkers } from '../support/faults.js';
import { busiestWindow, greatestOverlap, type CallSpan } from '../support/overlap.js';
import { leaseExpiries, leasesGone, rateSteps } from '../support/limiter-steps.js';
import { recordCommands } from '../support/redis-monitor.js';
import { it, type RedisFixtures } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/timed-calls.ts';

interface Call extends CallSpan {
  item: string;
  run: string;
  pid: number;
}

const items = (count: number, prefix = 'x'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

async function withWorkers(
  { prefix, redis: client }: Pick<RedisFixtures, 'prefix' | 'redis'>,
  processes: number,
  extraEnv: NodeJS.ProcessEnv,
  body: (ctx: {
    prefix: string;
    env: NodeJS.ProcessEnv;
    ledger: string;
    workers: ReturnType<typeof startSupervisedWorkers>;
    client: RedisFixtures['redis'];
  }) => Promise<void>,
  flags: string[] = ['--concurrency', '10'],
): Promise<void> {
  const { ledger } = scratch();
  const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger, ...extraEnv };
  const workers = startSupervisedWorkers(JOB, processes, env, flags);
  try {
    await workers.ready(processes);
    await body({ prefix, env, ledger, workers, client });
  } finally {
    await workers.stop();
  }
}

const calls = (ledger: string): Call[] => readLedger(ledger) as unknown as Call[];

describe('a job-wide concurrency cap', () => {
  it('3 worker processes x concurrency 10 under a job cap of 4: at most 4 map calls at once, and 4 reached', ({ prefix, redis }) =>
    withWorkers({ prefix, redis }, 3, { REDMAP_TEST_JOB_CAP: '4' }, async ({ env, ledger }) => {
      const result = await runCli(['submit', JOB, ...items(120), '--chunk-size', '1', '--wait', '--quiet'], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('{"key":"x","value":120}\n');
      const recorded = calls(ledger);
      expect(recorded).toHaveLength(120);
      expect(new Set(recorded.map((call) => call.pid)).size).toBe(3);
      expect(greatestOverlap(recorded)).toBe(4);
    }));

  it('two runs under a job cap of 4, one capped at 1: never above 4 together, the capped one never above 1, the other reaches 3 meanwhile', ({
    prefix,
    redis,
  }) =>
    withWorkers({ prefix, redis }, 3, { REDMAP_TEST_JOB_CAP: '4', REDMAP_TEST_DELAY_MS: '80' }, async ({ env, ledger }) => {
      const capped = startCli(['submit', JOB, ...items(40, 'c'), '--chunk-size', '1', '--global-concurrency', '1', '--wait', '--quiet'], {
        env,
      });
      const free = startCli(['submit', JOB, ...items(80, 'f'), '--chunk-size', '1', '--wait', '--quiet'], { env });
      const [cappedResult, freeResult] = await Promise.all([capped.result, free.result]);
      expect(cappedResult.stdout).toBe('{"key":"c","value":40}\n');
      expect(freeResult.stdout).toBe('{"key":"f","value":80}\n');
      const recorded = calls(ledger);
      const cappedCalls = recorded.filter((call) => call.item.startsWith('c'));
      const freeCalls = recorded.filter((call) => call.item.startsWith('f'));
      expect(greatestOverlap(recorded)).toBeLessThanOrEqual(4);
      expect(greatestOverlap(cappedCalls)).toBe(1);
      const cappedSpan = { from: Math.min(...cappedCalls.map((call) => call.start)), to: Math.max(...cappedCalls.map((call) => call.end)) };
      expect(greatestOverlap(freeCalls, cappedSpan.from, cappedSpan.to)).toBeGreaterThanOrEqual(3);
    }));
});

describe('a rate', () => {
  it("20/s starts calls over 49 ms apart by Redis's clock (so no 200 ms window holds more than its share plus one), and holds back no start that is due", ({
    prefix,
    redis,
  }) =>
    withWorkers({ prefix, redis }, 2, { REDMAP_TEST_DELAY_MS: '20' }, async ({ prefix, env, ledger, client }) => {
      // A call's own start time also holds how long its loaded process took to get to it,
      // which bunches starts: Redis's own record times the limiter's steps instead.
      const recording = await recordCommands(redisUrl(), (args) => args[0] === 'TIME' || args.some((arg) => arg.startsWith(`${prefix}:`)));
      const result = await runCli(['submit', JOB, ...items(130), '--chunk-size', '1', '--rate', '20/s', '--wait', '--quiet'], { env });
      const commands = await recording.stop();
      expect(result.code).toBe(0);
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const { asks, admissions, refusedWhenDue } = rateSteps(commands, runKeys(prefix, runId).limiter.bucket, 50);
      const starts = calls(ledger)
        .map((call) => call.start)
        .sort((a, b) => a - b);
      // One admission per call, and every call starts after one: the k-th start comes after
      // the k-th admission (the worker's clock reads whole milliseconds).
      expect(admissions).toHaveLength(130);
      expect(starts).toHaveLength(130);
      expect(
        starts.filter((start, k) => start < Math.floor(admissions[k]!.asked)),
        'calls that started before their admission',
      ).toEqual([]);
      // The limiter reads Redis's clock (between its ask's line and its SET's) in whole
      // milliseconds: 50 ms apart there is over 49 ms apart here, at most 5 in any 200 ms.
      const gaps = admissions.slice(1).map((admission, i) => admission.set - admissions[i]!.asked);
      expect(Math.min(...gaps)).toBeGreaterThan(49);
      // Never slower than the calls asked: an ask made once the next start was due (a
      // millisecond of rounding aside) is admitted.
      expect(asks).toBeGreaterThan(admissions.length);
      expect(refusedWhenDue, 'asks refused although the next start was due').toEqual([]);
      // And the calls ask often enough: a refused call sleeps at most 1.5 times the wait it
      // was told (up to 50 ms), so while calls wait, one asks within 25 ms of a start falling
      // due: 75 ms between starts at worst, so at least 67 in 5 s (101 when none is late).
      const first = admissions[0]!.set;
      const inFiveSeconds = admissions.filter((admission) => admission.set < first + 5000).length;
      expect(inFiveSeconds).toBeGreaterThanOrEqual(67);
      console.log(
        `rate 20/s: ${inFiveSeconds} starts in the first 5 s by Redis's clock; at most ${busiestWindow(starts, 200)} in 200 ms by the calls' own clocks`,
      );
    }));
});

describe('limits changed while a run goes on', () => {
  it('lowering the cap from 6 to 2: once the calls admitted before the change finish, at most 2 at once; the run finishes correct', ({
    prefix,
    redis,
  }) =>
    withWorkers({ prefix, redis }, 2, { REDMAP_TEST_DELAY_MS: '200' }, async ({ prefix, env, ledger, client }) => {
      // Enough calls that the run outlasts the throttle command's start (1 to 4 s, loaded):
      // 30 calls a second before it, 10 after.
      const running = startCli(['submit', JOB, ...items(240), '--chunk-size', '1', '--global-concurrency', '6', '--wait', '--quiet'], {
        env,
      });
      await waitFor('calls to run', () => (calls(ledger).length >= 10 ? true : undefined));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const throttled = await runCli(['throttle', runId, '--global-concurrency', '2'], { env });
      expect(throttled.code).toBe(0);
      expect(throttled.stdout).toMatch(/at most 2 map calls in flight/);
      const changedAt = Date.now();
      // A call holds its lease from before its start to after its end, and the run's calls
      // read its cap at every admission: once the leases taken before the change are gone,
      // every call in flight was admitted under the new cap.
      const cleared = await leasesGone(client, runKeys(prefix, runId).limiter.slots);
      const result = await running.result;
      expect(result.stdout).toBe('{"key":"x","value":240}\n');
      const recorded = calls(ledger);
      console.log(
        `cap 6 to 2: ${recorded.filter((call) => call.start < changedAt).length} calls before the change, ` +
          `${recorded.filter((call) => call.start > cleared).length} after the leases it found were gone (${cleared - changedAt} ms later)`,
      );
      expect(greatestOverlap(recorded, -Infinity, changedAt)).toBe(6);
      expect(recorded.filter((call) => call.start > cleared).length, 'calls started under the new cap').toBeGreaterThan(10);
      expect(greatestOverlap(recorded, cleared)).toBeLessThanOrEqual(2);
    }));

  it('a run with only the job cap, capped at 2 in the middle of its chunks: within a second and a half at most 2 at once', ({
    prefix,
    redis,
  }) =>
    withWorkers(
      { prefix, redis },
      2,
      { REDMAP_TEST_JOB_CAP: '4', REDMAP_TEST_DELAY_MS: '100' },
      async ({ prefix, env, ledger, client }) => {
        // 4 chunks of 40 calls each made one after another: every task still runs when the cap comes.
        const running = startCli(['submit', JOB, ...items(160), '--chunk-size', '40', '--wait', '--quiet'], { env });
        await waitFor('calls to run', () => (calls(ledger).length >= 8 ? true : undefined));
        const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
        // Without limits of its own, the run's calls ask the job alone: the run's limiter keeps nothing.
        const runLimiter = runKeys(prefix, runId).limiter;
        expect(await client.exists(runLimiter.slots, runLimiter.starts)).toBe(0);
        await throttleRun(client, prefix, runId, { concurrency: 2 });
        const changedAt = Date.now();
        const result = await running.result;
        expect(result.stdout).toBe('{"key":"x","value":160}\n');
        const recorded = calls(ledger);
        expect(greatestOverlap(recorded, -Infinity, changedAt)).toBe(4);
        // A pub/sub message tells the workers at once; were it lost, they read the run's limits
        // again within a second. Then the calls already running (100 ms) finish.
        expect(greatestOverlap(recorded, changedAt + 1500)).toBe(2);
      },
    ));

  it('status shows the limits, the calls in flight and the start rate', ({ prefix, redis }) =>
    withWorkers({ prefix, redis }, 1, { REDMAP_TEST_DELAY_MS: '300' }, async ({ prefix, env, ledger, client }) => {
      const running = startCli(
        ['submit', JOB, ...items(40), '--chunk-size', '1', '--global-concurrency', '2', '--rate', '10/s', '--wait', '--quiet'],
        { env },
      );
      await waitFor('calls to run', () => (calls(ledger).length >= 4 ? true : undefined));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const status = await runCli(['status', runId], { env });
      expect(status.stdout).toMatch(
        /run limits\s+at most 2 map calls in flight \([12] now\); at most 10\/s \(\d+\.\d\/s over the last 10 s\)/,
      );
      expect(status.stdout).toMatch(/job limits\s+no concurrency limit; no rate limit/);
      const json = JSON.parse((await runCli(['status', runId, '--json'], { env })).stdout) as {
        limits: { run: { concurrency: number } };
      };
      expect(json.limits.run.concurrency).toBe(2);
      await running.result;
    }));
});

describe('job limits set with redmap throttle --job', () => {
  const throttleJob = (env: NodeJS.ProcessEnv, flags: string[]) => runCli(['throttle', '--job', 'test-timed-calls', ...flags], { env });
  const submit = (env: NodeJS.ProcessEnv, names: string[]) =>
    runCli(['submit', JOB, ...names, '--chunk-size', '1', '--wait', '--quiet'], { env });

  it('a cap of 2 holds for two runs of the job at once; none goes back to the cap of 4 the job file declares', ({ prefix, redis }) =>
    withWorkers({ prefix, redis }, 2, { REDMAP_TEST_JOB_CAP: '4', REDMAP_TEST_DELAY_MS: '80' }, async ({ env, ledger }) => {
      const capped = await throttleJob(env, ['--global-concurrency', '2']);
      expect(capped.code).toBe(0);
      expect(capped.stdout).toMatch(/^job test-timed-calls: at most 2 map calls in flight \(\d+ now\); no rate limit\n$/);
      const [a, b] = await Promise.all([submit(env, items(30, 'a')), submit(env, items(30, 'b'))]);
      expect([a.stdout, b.stdout]).toEqual(['{"key":"a","value":30}\n', '{"key":"b","value":30}\n']);
      expect(greatestOverlap(calls(ledger))).toBe(2);

      const restored = await throttleJob(env, ['--global-concurrency', 'none']);
      expect(restored.stdout).toMatch(/^job test-timed-calls: at most 4 map calls in flight \(\d+ now\); no rate limit\n$/);
      const c = await submit(env, items(60, 'c'));
      expect(c.stdout).toBe('{"key":"c","value":60}\n');
      expect(greatestOverlap(calls(ledger).filter((call) => call.item.startsWith('c')))).toBe(4);
    }));

  it("a rate of 10/s spaces the starts of the job's runs evenly; none lifts it", ({ prefix, redis }) =>
    withWorkers({ prefix, redis }, 1, { REDMAP_TEST_DELAY_MS: '20' }, async ({ env, ledger }) => {
      const limited = await throttleJob(env, ['--rate', '10/s']);
      expect(limited.code).toBe(0);
      expect(limited.stdout).toMatch(/^job test-timed-calls: no concurrency limit; at most 10\/s \(/);
      expect((await submit(env, items(25, 's'))).stdout).toBe('{"key":"s","value":25}\n');
      const startsOf = (prefix: string) =>
        calls(ledger)
          .filter((call) => call.item.startsWith(prefix))
          .map((call) => call.start);
      // Evenly spaced: no second holds more than its 10 starts plus one.
      expect(busiestWindow(startsOf('s'), 1000)).toBeLessThanOrEqual(11);

      const lifted = await throttleJob(env, ['--rate', 'none']);
      expect(lifted.stdout).toBe('job test-timed-calls: no concurrency limit; no rate limit\n');
      expect((await submit(env, items(25, 'f'))).stdout).toBe('{"key":"f","value":25}\n');
      // 25 calls of 20 ms at concurrency 10 start within a fraction of a second: far above the old rate.
      expect(busiestWindow(startsOf('f'), 1000)).toBeGreaterThan(11);
    }));
});

describe('a worker that dies holding slots', () => {
  it('gives them back when their leases expire (10 s), and the run finishes', ({ prefix, redis }) =>
    withWorkers(
      { prefix, redis },
      2,
      { REDMAP_TEST_JOB_CAP: '3', REDMAP_TEST_DELAY_MS: '1000' },
      async ({ prefix, env, ledger, workers, client }) => {
        const running = startCli(['submit', JOB, ...items(60), '--chunk-size', '1', '--max-stalls', '5', '--wait', '--quiet'], { env });
        // Kill a worker while it holds slots: lease ids start with the holder's pid. The newest
        // lease (last by expiry) has most of its call ahead, so it is still held at the kill.
        await waitFor('the first calls to finish', () => (readLedger(ledger).length >= 3 ? true : undefined));
        const slots = jobLimiterKeys(prefix, 'test-timed-calls').slots;
        const leases = await client.zrange(slots, '0', '-1');
        const victim = Number(leases.at(-1)!.split(':')[0]);
        expect(workers.children()).toContain(victim);
        signal(victim, 'SIGKILL');
        const killedAt = Date.now();
        // The dead worker renews nothing more: its leases' expiry times (Redis's clock) are final.
        const expiries = await leaseExpiries(client, slots, victim);
        expect(expiries.length, 'leases the dead worker held').toBeGreaterThan(0);
        const lastExpiry = expiries.at(-1)!;
        const result = await running.result;
        expect(result.stdout).toBe('{"key":"x","value":60}\n');
        const survivors = calls(ledger).filter((call) => call.pid !== victim);
        // While the dead worker's leases last, fewer than 3 calls run at once. Once they have
        // expired, a call waiting for the cap asks again within 30 ms (its refusal says 20 ms,
        // give or take half): the cap of 3 is reached again within one call (1 s), given 2 s
        // more for a loaded machine.
        expect(greatestOverlap(survivors, killedAt, lastExpiry)).toBeLessThan(3);
        expect(greatestOverlap(survivors, lastExpiry, lastExpiry + 3000)).toBe(3);
      },
      ['--concurrency', '3', '--lock-duration', '2s', '--stalled-interval', '500ms'],
    ));
});
