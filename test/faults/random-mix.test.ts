/**
 * A randomized mix of faults over many runs: workers killed or frozen, Redis killed and
 * restarted (AOF, appendfsync always) or frozen, at random moments. Every run must give the
 * one-process result with every task committed once. 10 runs in CI; REDMAP_FAULT_RUNS for
 * more, REDMAP_FAULT_SEED to replay a schedule (each run's schedule is written out).
 */
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { runKeys, runsIndexKey } from '../../shared/redis-keys.js';
import { readRunRecord } from '../../shared/run-record.js';
import { startCli } from '../support/cli.js';
import { expectWithSchedule, FaultSchedule, seededRandom, signal, startSupervisedWorkers, waitFor } from '../support/faults.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { auditRun, chunkIds, groundTruth } from '../support/run-checks.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const RUNS = Number(process.env.REDMAP_FAULT_RUNS ?? 10);
const SEED = Number(process.env.REDMAP_FAULT_SEED ?? Date.now() % 1_000_000);
const FAULTS = ['kill -9 a worker', 'SIGSTOP a worker for 3 s', 'kill -9 Redis, restart after 1 s', 'SIGSTOP Redis for 2 s'] as const;

type Workers = ReturnType<typeof startSupervisedWorkers>;

async function applyFault(
  fault: (typeof FAULTS)[number],
  redis: TestRedisServer,
  workers: Workers,
  random: () => number,
  schedule: FaultSchedule,
): Promise<void> {
  const children = workers.children();
  const victim = children[Math.floor(random() * children.length)];
  switch (fault) {
    case 'kill -9 a worker':
      if (victim === undefined) return;
      signal(victim, 'SIGKILL');
      schedule.note(`kill -9 worker ${victim}`);
      return;
    case 'SIGSTOP a worker for 3 s':
      if (victim === undefined) return;
      signal(victim, 'SIGSTOP');
      schedule.note(`SIGSTOP worker ${victim}`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      signal(victim, 'SIGCONT');
      schedule.note(`SIGCONT worker ${victim}`);
      return;
    case 'kill -9 Redis, restart after 1 s':
      await redis.kill9();
      schedule.note('kill -9 redis-server');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await redis.restart();
      schedule.note('restarted redis-server (AOF)');
      return;
    case 'SIGSTOP Redis for 2 s':
      signal(redis.pid()!, 'SIGSTOP');
      schedule.note('SIGSTOP redis-server');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      signal(redis.pid()!, 'SIGCONT');
      schedule.note('SIGCONT redis-server');
  }
}

/** What a stuck run looked like, for the schedule. */
async function noteDiagnostics(client: Redis, schedule: FaultSchedule, stderr: string): Promise<void> {
  const runId = (await client.zrevrange(runsIndexKey('redmap'), 0, 0))[0];
  if (!runId) return;
  const run = await readRunRecord(client, 'redmap', runId);
  schedule.note(`run ${runId}: ${JSON.stringify(run)}`);
  const keys = runKeys('redmap', runId);
  schedule.note(
    `pending inputs: ${(await client.hkeys(keys.inputs)).join(' ')}; committed: ${(await client.smembers(keys.committed)).length}`,
  );
  const queueKeys = await client.keys(`redmap:q:*:${runId}.*`);
  for (const key of queueKeys.filter((name) => !name.endsWith(':lock')).slice(0, 20)) {
    schedule.note(`${key}: ${JSON.stringify(await client.hgetall(key).catch(() => 'not a hash'))}`);
  }
  for (const list of ['wait', 'active', 'delayed', 'failed', 'stalled']) {
    const queueKey = (await client.keys(`redmap:q:*:${list}`))[0];
    if (queueKey) schedule.note(`${queueKey}: ${await client.type(queueKey)}`);
  }
  schedule.note(`submit stderr: ${stderr.slice(-1500)}`);
}

describe('a randomized mix of faults', () => {
  it(`over ${RUNS} runs (seed ${SEED}): every run identical to one process, every task committed once`, async () => {
    const redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => {});
    const random = seededRandom(SEED);
    const base = { REDIS_URL: redis.url, REDMAP_TEST_DELAY_MS: '40', REDMAP_TEST_REDUCE_DELAY_MS: '10' };
    const workers = startSupervisedWorkers(JOB, 3, base, [
      '--lock-duration',
      '2s',
      '--stalled-interval',
      '500ms',
      '--heartbeat-timeout',
      '5s',
    ]);
    try {
      await workers.ready(3);
      for (let run = 1; run <= RUNS; run++) {
        const schedule = new FaultSchedule(`random mix seed ${SEED} run ${run}`);
        const inputs = Array.from({ length: 60 }, () => Array.from({ length: 5 }, () => `w${Math.floor(random() * 40)}`).join(' '));
        const submitted = startCli(['submit', JOB, '-', '--chunk-size', '3', '--max-stalls', '20', '--wait', '--quiet'], {
          env: base,
          timeoutMs: 60_000,
          input: `${inputs.join('\n')}\n`,
        });
        // Faults start once the run exists: Redis down before a command connects is another test (exit 5).
        await waitFor('the run to be created', async () => ((await client.zcard(runsIndexKey('redmap'))) >= run ? true : undefined));
        const faults = 1 + Math.floor(random() * 3);
        for (let i = 0; i < faults && submitted.exitCode === null; i++) {
          await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1200));
          await applyFault(FAULTS[Math.floor(random() * FAULTS.length)]!, redis, workers, random, schedule);
        }
        const result = await submitted.result;
        schedule.note(`submit --wait exited ${result.code}`);
        if (result.code !== 0) await noteDiagnostics(client, schedule, result.stderr);
        expectWithSchedule(result.code, schedule).toBe(0);
        expectWithSchedule(result.stdout, schedule).toBe(await groundTruth(JOB, inputs, 3));
        const runId = await waitFor('the run id', async () => (await client.zrevrange(runsIndexKey('redmap'), 0, 0))[0]);
        expectWithSchedule((await readRunRecord(client, 'redmap', runId))?.state, schedule).toBe('done');
        expectWithSchedule((await auditRun(client, 'redmap', runId)).committedTasks, schedule).toEqual(chunkIds(20));
      }
    } finally {
      await workers.stop();
      client.disconnect();
      await redis.stop();
    }
  });
});
