/**
 * Redis itself failing under a run: killed and restarted with and without persistence,
 * frozen for a few seconds, and full. Workers reconnect, the result equals a plain-code
 * count with one commit per task and partition, a run whose state vanished is reported
 * lost, and a full Redis is said plainly.
 */
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { expectWithSchedule, FaultSchedule, signal, startSupervisedWorkers } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { auditRun, chunkIds, expectCommittedOnce } from '../support/run-checks.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '5s'];

function lines(count: number, width = 6): string[] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: width }, (_, j) => `w${(i * 7 + j * 13) % 97}`).join(' '));
}

async function withRedis(args: string[], body: (redis: TestRedisServer, client: Redis) => Promise<void>): Promise<void> {
  const redis = await startRedisServer({ args });
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  try {
    await body(redis, client);
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

async function runIdOf(client: Redis): Promise<string> {
  return waitFor('the run to be created', async () => (await client.zrange(runsIndexKey('redmap'), '0', '0'))[0]);
}

async function stateOf(client: Redis, runId: string): Promise<string | undefined> {
  return (await readRunRecord(client, 'redmap', runId))?.state;
}

describe('Redis faults', () => {
  it('kill -9 of Redis and a restart with appendfsync always: workers reconnect, the result is identical', () =>
    withRedis(['--appendonly', 'yes', '--appendfsync', 'always'], async (redis, client) => {
      const schedule = new FaultSchedule('redis restart with aof');
      const inputs = lines(60);
      const env = { REDIS_URL: redis.url, REDMAP_TEST_DELAY_MS: '100' };
      const workers = startSupervisedWorkers(JOB, 2, env, FAST_FAILOVER);
      try {
        await workers.ready(2);
        const submitted = startCli(['submit', JOB, ...inputs, '--chunk-size', '2', '--max-stalls', '10', '--wait', '--quiet'], { env });
        const runId = await runIdOf(client);
        await waitFor('some commits', async () => ((await client.scard(runKeys('redmap', runId).committed)) >= 5 ? true : undefined));
        await redis.kill9();
        schedule.note(`kill -9 redis-server (pid gone) with ${inputs.length} inputs in flight`);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await redis.restart();
        schedule.note('restarted redis-server on the same port and AOF');
        const result = await submitted.result;
        schedule.note(`submit --wait exited ${result.code}`);
        expectWithSchedule(result.code, schedule).toBe(0);
        expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
        expectCommittedOnce(await auditRun(client, 'redmap', runId), { tasks: chunkIds(30), partitions: 4 }, schedule);
      } finally {
        await workers.stop();
      }
    }));

  it('a restart without persistence: the waiting client reports the run lost (exit 6), status says unknown', () =>
    withRedis(['--appendonly', 'no'], async (redis, client) => {
      const schedule = new FaultSchedule('redis restart without persistence');
      const env = { REDIS_URL: redis.url, REDMAP_TEST_DELAY_MS: '200' };
      const workers = startSupervisedWorkers(JOB, 1, env, FAST_FAILOVER);
      try {
        await workers.ready(1);
        const submitted = startCli(['submit', JOB, ...lines(40), '--chunk-size', '1', '--wait', '--quiet'], { env });
        const runId = await runIdOf(client);
        await waitFor('the run to map', async () => ((await stateOf(client, runId)) === 'mapping' ? true : undefined));
        await redis.kill9();
        await redis.restart();
        schedule.note('kill -9 redis-server and restart it empty');
        const result = await submitted.result;
        expectWithSchedule(result.code, schedule).toBe(6);
        expectWithSchedule(result.stderr, schedule).toMatch(/is lost: its state vanished from Redis/);
        const status = await runCli(['status', runId], { env });
        expectWithSchedule(status.code, schedule).toBe(1);
        expectWithSchedule(status.stdout, schedule).toBe(`run ${runId}: unknown (never existed, cleaned, expired or lost)\n`);
      } finally {
        await workers.stop();
      }
    }));

  it('Redis frozen for a few seconds mid-run (SIGSTOP, then SIGCONT): producer and workers carry on, identical', () =>
    withRedis(['--appendonly', 'no'], async (redis, client) => {
      const schedule = new FaultSchedule('redis frozen');
      const inputs = lines(80);
      const env = { REDIS_URL: redis.url, REDMAP_TEST_DELAY_MS: '50' };
      const workers = startSupervisedWorkers(JOB, 2, env, FAST_FAILOVER);
      try {
        await workers.ready(2);
        const submitted = startCli(
          ['submit', JOB, '-', '--chunk-size', '2', '--high-water-mark', '10', '--max-stalls', '10', '--wait', '--quiet'],
          {
            env,
            input: `${inputs.join('\n')}\n`,
          },
        );
        const runId = await runIdOf(client);
        await waitFor('some commits', async () => ((await client.scard(runKeys('redmap', runId).committed)) >= 3 ? true : undefined));
        signal(redis.pid()!, 'SIGSTOP');
        schedule.note('SIGSTOP redis-server');
        await new Promise((resolve) => setTimeout(resolve, 4000));
        signal(redis.pid()!, 'SIGCONT');
        schedule.note('SIGCONT redis-server after 4 s');
        const result = await submitted.result;
        expectWithSchedule(result.code, schedule).toBe(0);
        expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
        expectCommittedOnce(await auditRun(client, 'redmap', runId), { tasks: chunkIds(40), partitions: 4 }, schedule);
      } finally {
        await workers.stop();
      }
    }));

  it('Redis full: the waiting client says so and exits 5, workers back off, nothing is half-committed, and raising the limit resumes the run', () =>
    withRedis(['--appendonly', 'no'], async (redis, client) => {
      const schedule = new FaultSchedule('redis full');
      // Every line has words of its own: each task's output is new data that needs memory.
      const inputs = Array.from({ length: 120 }, (_, i) => Array.from({ length: 40 }, (_, j) => `u${i}x${j}`).join(' '));
      const env = { REDIS_URL: redis.url, REDMAP_TEST_DELAY_MS: '100' };
      const workers = startSupervisedWorkers(JOB, 2, env, FAST_FAILOVER);
      try {
        await workers.ready(2);
        const submitted = startCli(['submit', JOB, ...inputs, '--chunk-size', '2', '--max-stalls', '10', '--wait', '--quiet'], { env });
        const runId = await runIdOf(client);
        const keys = runKeys('redmap', runId);
        await waitFor('the run to be sealed', async () => ((await stateOf(client, runId)) === 'mapping' ? true : undefined));
        const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
        await client.config('SET', 'maxmemory', String(used + 64 * 1024));
        schedule.note(`CONFIG SET maxmemory ${used + 64 * 1024} (used ${used})`);
        const result = await submitted.result;
        schedule.note(`submit --wait exited ${result.code}: ${result.stderr.slice(-600)}`);
        expectWithSchedule(result.code, schedule).toBe(5);
        expectWithSchedule(result.stderr, schedule).toMatch(/Redis is out of memory .*: run \S+ is paused, nothing is half-committed/);

        // Backing off, not spinning: few commands per second while full.
        const before = Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]);
        const callsBefore = commandCalls(await client.info('commandstats'));
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const after = Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]);
        const callsAfter = commandCalls(await client.info('commandstats'));
        // Which commands, so that a spin names itself in the schedule.
        const busiest = [...callsAfter]
          .map(([command, calls]) => [command, calls - (callsBefore.get(command) ?? 0)] as const)
          .filter(([, calls]) => calls > 0)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([command, calls]) => `${command} ${calls}`);
        schedule.note(`${after - before} commands in 3 s while full (${busiest.join(', ')})`);
        expectWithSchedule(after - before, schedule).toBeLessThan(1500);

        // Nothing half-committed: every committed task has its output, and only those do.
        const committed = new Set(await client.smembers(keys.committed));
        const withOutput = new Set<string>();
        for (let p = 0; p < 4; p++)
          for (const entry of await client.lrange(keys.outputIndex(p), 0, -1)) withOutput.add(entry.slice(0, entry.indexOf('|')));
        expectWithSchedule(
          [...withOutput].every((task) => committed.has(task)),
          schedule,
        ).toBe(true);
        const pending = await client.hkeys(keys.inputs);
        expectWithSchedule(
          pending.filter((task) => committed.has(task)),
          schedule,
        ).toEqual([]);
        expectWithSchedule(committed.size + pending.length, schedule).toBe(60);

        await client.config('SET', 'maxmemory', '0');
        schedule.note('CONFIG SET maxmemory 0: the run should resume by itself');
        await waitFor('the run to finish', async () => ((await stateOf(client, runId)) === 'done' ? true : undefined), 90_000);
        const results = await runCli(['results', runId], { env });
        expectWithSchedule(results.stdout, schedule).toBe(wordCountLines(inputs));
        // Commits refused while Redis was full wrote nothing: still one per task and partition.
        expectCommittedOnce(await auditRun(client, 'redmap', runId), { tasks: chunkIds(60), partitions: 4 }, schedule);
        const stopped = await workers.stop();
        expectWithSchedule(stopped.stderr, schedule).toMatch(/Redis is out of memory/);
      } finally {
        await workers.stop();
      }
    }));
});

/** Calls per command so far, from INFO commandstats. */
function commandCalls(info: string): Map<string, number> {
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((match) => [match[1]!, Number(match[2])]));
}
