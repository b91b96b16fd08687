/**
 * Poison inputs: one that always throws, one that kills its process. Each fails alone after
 * its attempts or its stall tolerance, is named by `redmap failed`, and the rest of its
 * chunk is committed. (One that never yields: see worker-faults.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsIndexKey } from '../../shared/redis/redis-keys.js';
import { runCli } from '../support/cli.js';
import {
  callStarts,
  expectWithSchedule,
  FaultSchedule,
  readLedger,
  remappedItems,
  scratch,
  startSupervisedWorkers,
} from '../support/faults.js';
import { poisonCountLines } from '../support/ground-truth.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { auditRun, expectCommittedOnce } from '../support/run-checks.js';
import { testPrefix, wipePrefix } from '../support/test-redis.js';

const POISON = 'test/fixtures/jobs/poison.ts';
// A heartbeat timeout well past any starvation of a loaded machine: "exit" ends its own process,
// which the supervisor sees at once, so no test here needs a missed heartbeat to notice a fault.
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '60s'];

let redis: TestRedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

interface FailureLine {
  task: string;
  input: unknown;
  error: string;
  code: string | null;
  attempts: number;
  stalls: number;
  host: string;
  pid: number;
  stack: string | null;
}

async function failures(runId: string, env: NodeJS.ProcessEnv): Promise<FailureLine[]> {
  const result = await runCli(['failed', runId, '--json'], { env });
  return result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FailureLine);
}

describe('poison inputs', () => {
  it('an item that always throws fails after its attempts, alone; the rest of its chunk is committed', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('poison throws');
    const { ledger } = scratch();
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger };
    const inputs = ['a', 'b', 'throw', 'c', 'd', 'e'];
    try {
      const result = await runCli(
        [
          'run',
          POISON,
          ...inputs,
          '--workers',
          '1',
          '--chunk-size',
          '3',
          '--attempts',
          '3',
          '--backoff',
          'fixed:50ms',
          '--max-failed-tasks',
          '1',
        ],
        { env },
      );
      schedule.note(`run exited ${result.code}`);
      expectWithSchedule(result.code, schedule).toBe(3); // done_with_failures
      expectWithSchedule(result.stdout, schedule).toBe(poisonCountLines(['a', 'b', 'c', 'd', 'e']));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const [failure, ...others] = await failures(runId, env);
      expectWithSchedule(others, schedule).toEqual([]);
      expectWithSchedule(failure, schedule).toMatchObject({
        task: 'c0.2',
        input: 'throw',
        error: 'poison item: always throws',
        attempts: 3,
        pid: expect.any(Number),
      });
      expectWithSchedule(failure?.stack, schedule).toMatch(/poison\.ts/);
      // The chunk ran 3 times, then its items one by one: "throw" 3 more times, the others once more.
      const calls = callStarts(readLedger(ledger)).map((call) => call.item);
      expectWithSchedule(calls.filter((item) => item === 'throw').length, schedule).toBe(6);
      expectWithSchedule(calls.filter((item) => item === 'a').length, schedule).toBe(4);
      expectCommittedOnce(await auditRun(client, prefix, runId), { tasks: ['c0.0', 'c0.1', 'c1'], partitions: 2 }, schedule);
    } finally {
      await wipePrefix(client, prefix);
    }
  });

  it('an item that kills its process fails once it stalled too often; the supervisor restarts the process; the rest completes', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('poison exits');
    const { ledger } = scratch();
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger };
    const workers = startSupervisedWorkers(POISON, 2, env, [...FAST_FAILOVER, '--concurrency', '1']);
    try {
      await workers.ready(2);
      const inputs = ['a', 'exit', 'b', 'c'];
      const result = await runCli(
        ['submit', POISON, ...inputs, '--chunk-size', '2', '--max-stalls', '1', '--max-failed-tasks', '1', '--wait', '--quiet'],
        { env },
      );
      schedule.note(`submit --wait exited ${result.code}`);
      expectWithSchedule(result.code, schedule).toBe(3);
      expectWithSchedule(result.stdout, schedule).toBe(poisonCountLines(['a', 'b', 'c']));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const [failure] = await failures(runId, env);
      expectWithSchedule(failure, schedule).toMatchObject({ task: 'c0.1', input: 'exit', code: 'TASK_STALLED' });
      expectWithSchedule(failure?.error, schedule).toMatch(
        /died or stopped answering 2 times .*; run alone, it failed too: the isolate process exited \(code 1/,
      );
      // "a" shared its chunk with "exit": it was mapped again each time the chunk came back, and once more alone.
      expectWithSchedule(remappedItems(readLedger(ledger)).get('a'), schedule).toBeGreaterThanOrEqual(2);
      expectCommittedOnce(await auditRun(client, prefix, runId), { tasks: ['c0.0', 'c1'], partitions: 2 }, schedule);
      const stopped = await workers.stop();
      expectWithSchedule(stopped.stderr, schedule).toMatch(/worker process died; starting a replacement/);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });
});
