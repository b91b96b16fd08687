/**
 * Workers that die, freeze or stop answering while a run goes on: the result equals a
 * plain-code count, every task is committed once and every partition reduced once (counted
 * as commits), and the items a fault interrupted were really mapped again.
 * Real processes, real kill -9 and SIGSTOP, a Redis of the test's own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import {
  callsInFlight,
  callStarts,
  expectWithSchedule,
  FaultSchedule,
  pickVictim,
  readLedger,
  remappedItems,
  scratch,
  seededRandom,
  signal,
  startSupervisedWorkers,
  type LedgerEntry,
} from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { poisonCountLines, wordCountLines } from '../support/ground-truth.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { auditRun, chunkIds, expectCommittedOnce } from '../support/run-checks.js';
import { testPrefix, wipePrefix } from '../support/test-redis.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const POISON = 'test/fixtures/jobs/poison.ts';
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '2s'];

let redis: TestRedisServer;
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--appendonly', 'no'] });
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

function lines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `alpha ${i % 11} beta w${i % 37} gamma${i % 5} delta z${i % 23}`);
}

async function latestRun(prefix: string): Promise<string | undefined> {
  const [id] = await client.zrevrange(runsIndexKey(prefix), 0, 0);
  return id;
}

describe('worker faults', () => {
  it('kill -9 of random workers, again and again, during map and reduce: identical result, each task committed once', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('kill -9 random workers');
    const random = seededRandom(Number(process.env.REDMAP_FAULT_SEED ?? 20261127));
    const { ledger } = scratch();
    const inputs = lines(240);
    const env = {
      REDIS_URL: redis.url,
      REDMAP_PREFIX: prefix,
      REDMAP_TEST_LOG: ledger,
      REDMAP_TEST_DELAY_MS: '60',
      REDMAP_TEST_REDUCE_DELAY_MS: '40',
    };
    const workers = startSupervisedWorkers(JOB, 3, env, FAST_FAILOVER);
    try {
      await workers.ready(3);
      // A generous stall tolerance: the test kills often, and no task may fail for it.
      const submitted = startCli(['submit', JOB, '-', '--chunk-size', '3', '--max-stalls', '20', '--wait', '--quiet'], {
        env,
        input: `${inputs.join('\n')}\n`,
      });
      // A kill every 1 to 2.5 s, at most 10 while mapping, and one as the reduce phase begins:
      // often enough to hit many tasks, seldom enough that every task can finish between kills.
      let phasesHit = new Set<string>();
      let kills = 0;
      const lost: LedgerEntry[] = [];
      let nextKillAt = Date.now() + 1000;
      for (;;) {
        const runId = await latestRun(prefix);
        const state = runId ? (await readRunRecord(client, prefix, runId))?.state : undefined;
        if (submitted.exitCode !== null || (state && !['submitting', 'mapping', 'reducing'].includes(state))) break;
        const firstReduce = state === 'reducing' && !phasesHit.has('reducing');
        // Workers map while the producer is still submitting (its first batches are small).
        const phase = state === 'submitting' ? 'mapping' : state;
        if (phase && (firstReduce || (Date.now() >= nextKillAt && kills < 10))) {
          const victim = pickVictim(workers.children(), readLedger(ledger), random());
          if (victim !== undefined) {
            signal(victim, 'SIGKILL');
            kills++;
            phasesHit = new Set([...phasesHit, phase]);
            await waitFor(`worker ${victim} to be gone`, () => !workers.children().includes(victim));
            // Dead now: the calls it started and never ended are lost, and must be mapped again.
            const inFlight = callsInFlight(readLedger(ledger), victim);
            lost.push(...inFlight);
            schedule.note(`kill -9 worker ${victim} while the run is ${state}; in flight: ${JSON.stringify(inFlight.map((c) => c.item))}`);
          }
          nextKillAt = Date.now() + 1000 + random() * 1500;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const result = await submitted.result;
      schedule.note(`submit --wait exited ${result.code}`);
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(kills, schedule).toBeGreaterThanOrEqual(3);
      expectWithSchedule([...phasesHit].sort(), schedule).toEqual(['mapping', 'reducing']);
      expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
      expectCommittedOnce(await auditRun(client, prefix, (await latestRun(prefix))!), { tasks: chunkIds(80), partitions: 4 }, schedule);
      // The faults bit: calls were lost with their process, and every one was mapped again
      // (the lines are all different, so an item started twice is a redelivery).
      const calls = readLedger(ledger);
      const remapped = remappedItems(calls);
      schedule.note(`${callStarts(calls).length} map calls for ${inputs.length} items, ${remapped.size} mapped more than once`);
      expectWithSchedule(new Set(callStarts(calls).map((call) => call.item)).size, schedule).toBe(inputs.length);
      expectWithSchedule(lost.length, schedule).toBeGreaterThan(0);
      expectWithSchedule(
        lost.filter((call) => !remapped.has(call.item)),
        schedule,
      ).toEqual([]);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });

  it('a worker killed after the flip to reducing but before enqueueing the reduce tasks: the run still finishes', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('kill after flip');
    const inputs = lines(12);
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_FAILPOINTS: 'after-flip' };
    const workers = startSupervisedWorkers(JOB, 1, env, FAST_FAILOVER);
    try {
      await workers.ready(1);
      const victim = workers.children()[0]!;
      const submitted = startCli(['submit', JOB, ...inputs, '--chunk-size', '4', '--wait', '--quiet'], { env });
      // The failpoint kills the worker right after the commit that flips the run. On a slow
      // machine the first process may die earlier for another reason (a missed heartbeat);
      // its replacement has the same failpoint, so wait for the flip itself as well.
      const flipped = async (): Promise<string | undefined> => {
        const id = await latestRun(prefix);
        return id && !workers.children().includes(victim) && (await readRunRecord(client, prefix, id))?.state === 'reducing'
          ? id
          : undefined;
      };
      const runId = await waitFor('a worker to die at the failpoint, after the flip', flipped);
      const record = await readRunRecord(client, prefix, runId);
      const reduceTasks = (await client.keys(`${prefix}:q:*:${runId}.*.g1.r*`)).length;
      schedule.note(`worker ${victim} died at the failpoint; the run is ${record?.state}, ${reduceTasks} reduce tasks queued`);
      expectWithSchedule(record?.state, schedule).toBe('reducing');
      expectWithSchedule(reduceTasks, schedule).toBe(0);
      const result = await submitted.result;
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
      expectCommittedOnce(await auditRun(client, prefix, runId), { tasks: chunkIds(3), partitions: 4 }, schedule);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });

  it('SIGSTOP on a worker past its lock, then SIGCONT: another worker redoes its task, the late commit is a no-op', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('sigstop past the lock');
    const { ledger } = scratch();
    const inputs = lines(30);
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger, REDMAP_TEST_DELAY_MS: '300' };
    const workers = startSupervisedWorkers(JOB, 2, env, [...FAST_FAILOVER, '--heartbeat-timeout', '60s']);
    try {
      await workers.ready(2);
      const submitted = startCli(['submit', JOB, ...inputs, '--chunk-size', '2', '--wait', '--quiet'], { env });
      const frozen = await waitFor('a map call to start', () => callStarts(readLedger(ledger))[0]);
      signal(frozen.pid, 'SIGSTOP');
      schedule.note(`SIGSTOP worker ${frozen.pid} while it maps ${JSON.stringify(frozen.item)}`);
      // Frozen until another worker, once the lock lapsed, has started the task again.
      await waitFor('another worker to map the frozen item', () =>
        callStarts(readLedger(ledger)).some((call) => call.item === frozen.item && call.pid !== frozen.pid),
      );
      signal(frozen.pid, 'SIGCONT');
      schedule.note(`SIGCONT worker ${frozen.pid}`);
      const result = await submitted.result;
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
      const redone = callStarts(readLedger(ledger)).filter((call) => call.item === frozen.item);
      schedule.note(`${JSON.stringify(frozen.item)} was mapped by ${redone.map((call) => call.pid).join(', ')}`);
      expectWithSchedule(new Set(redone.map((call) => call.pid)).size, schedule).toBe(2);
      expectCommittedOnce(await auditRun(client, prefix, (await latestRun(prefix))!), { tasks: chunkIds(15), partitions: 4 }, schedule);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });
});

describe('a worker process slow to start', () => {
  it('is not killed by a heartbeat timeout meant for maps that never yield: Node may load slowly, then it beats while it loads its job', async () => {
    const prefix = testPrefix();
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix };
    const slowStart = {
      ...env,
      // 3 s before the process's own code runs (its first beat), then 3 s loading the job.
      NODE_OPTIONS: '--import=data:text/javascript,await%20new%20Promise(r=>setTimeout(r,3000))',
      REDMAP_TEST_LOAD_DELAY_MS: '3000',
    };
    const workers = startSupervisedWorkers(POISON, 1, slowStart, ['--heartbeat-timeout', '2s']);
    try {
      await workers.ready(1);
      const result = await runCli(['submit', POISON, 'a', '--wait', '--quiet'], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('{"key":"a","value":1}\n');
      const stopped = await workers.stop();
      expect(stopped.stderr).not.toMatch(/killing it|worker process died/);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });
});

describe('maps that block their worker', () => {
  it('a map that blocks the event loop past the lock, then returns: another worker redoes it, committed once', async () => {
    const prefix = testPrefix();
    const schedule = new FaultSchedule('block past the lock');
    const { dir, ledger } = scratch();
    const release = join(dir, 'release');
    // "block" holds its worker's event loop (no lock renewal) until the test releases it,
    // which it does once another worker has taken the task back and started the same item:
    // the late call then returns into a task it no longer holds, however slow the machine.
    const inputs = ['a', 'block', 'b', 'c'];
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger, REDMAP_TEST_RELEASE: release };
    const workers = startSupervisedWorkers(POISON, 2, env, [...FAST_FAILOVER, '--heartbeat-timeout', '60s']);
    try {
      await workers.ready(2);
      const submitted = startCli(['submit', POISON, ...inputs, '--chunk-size', '1', '--wait', '--quiet'], { env });
      const blockers = () =>
        new Set(
          callStarts(readLedger(ledger))
            .filter((call) => call.item === 'block')
            .map((call) => call.pid),
        );
      // The lock (2 s) lapses, the other worker's stalled check (every 0.5 s) takes the task back.
      await waitFor('a second worker to start the blocked item', () => blockers().size === 2, 60_000);
      writeFileSync(release, '');
      schedule.note(`block was mapped by ${[...blockers()].join(', ')}; released`);
      const result = await submitted.result;
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(result.stdout, schedule).toBe(poisonCountLines(inputs));
      expectCommittedOnce(await auditRun(client, prefix, (await latestRun(prefix))!), { tasks: chunkIds(4), partitions: 2 }, schedule);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });

  it('a map that never yields: the supervisor kills its worker, counts the stalls, and the run fails naming the item', async () => {
    const prefix = testPrefix();
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix };
    const schedule = new FaultSchedule('loop forever');
    // Heartbeat 2 s with --max-stalls 1: a task fails once its worker misses 2 s of beats (or
    // of lock renewals) twice while it holds the task. "loop" does so by design; "a" and "b"
    // map at once and are held for milliseconds, so a worker starved by a loaded machine would
    // have to lose 2 s twice within those milliseconds to fail one. A starved worker that holds
    // nothing is replaced, and the run does not see it.
    // Submitted before the workers start, so a worker (the first, or a replacement) may take
    // the loop before it has said it is ready: it must be killed all the same.
    const running = startCli(['submit', POISON, 'a', 'loop', 'b', '--chunk-size', '1', '--max-stalls', '1', '--wait', '--quiet'], {
      env,
    });
    await waitFor('the run to be submitted', () => latestRun(prefix));
    const workers = startSupervisedWorkers(POISON, 2, env, FAST_FAILOVER);
    try {
      const result = await running.result;
      expectWithSchedule(result.code, schedule).toBe(1);
      const runId = (await latestRun(prefix))!;
      const failed = await runCli(['failed', runId, '--json'], { env });
      const [report] = failed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { input: unknown; code: string; stalls: number });
      expectWithSchedule(report, schedule).toMatchObject({ input: 'loop', code: 'TASK_STALLED', stalls: 2 });
      const stopped = await workers.stop();
      expectWithSchedule(stopped.stderr, schedule).toMatch(/stopped answering \(a map that never yields\?\); killing it/);
      expectWithSchedule(stopped.stderr, schedule).not.toMatch(/did not start in time/);
      expectWithSchedule(await client.scard(runKeys(prefix, runId).committed), schedule).toBe(2);
      expectWithSchedule((await readRunRecord(client, prefix, runId))?.mapCommits, schedule).toBe(2);
    } finally {
      await workers.stop();
      await wipePrefix(client, prefix);
    }
  });

  it.each(['thread', 'process'])(
    'a map that never yields, under --isolation %s: the call timeout stops it and the rest completes',
    async (isolation) => {
      const prefix = testPrefix();
      const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix };
      const schedule = new FaultSchedule(`loop under ${isolation}`);
      const result = await runCli(
        [
          'run',
          POISON,
          'a',
          'loop',
          'b',
          '--workers',
          '1',
          '--chunk-size',
          '1',
          '--isolation',
          isolation,
          '--call-timeout',
          '1s',
          '--attempts',
          '2',
          '--backoff',
          'fixed:100ms',
          '--max-failed-tasks',
          '1',
        ],
        { env },
      );
      try {
        expectWithSchedule(result.code, schedule).toBe(3);
        expectWithSchedule(result.stdout, schedule).toBe('{"key":"a","value":1}\n{"key":"b","value":1}\n');
        expectWithSchedule(result.stderr, schedule).toMatch(
          /failed c1: input \\"loop\\" after 2 attempt\(s\): map call on item \\"loop\\" ran past its call timeout of 1\.0s/,
        );
      } finally {
        await wipePrefix(client, prefix);
      }
    },
  );
});
