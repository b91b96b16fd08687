/**
 * What happens to a run when tasks fail for good, when it is retried or cancelled, and to
 * a worker asked to stop: the states and generations of DESIGN.md, through the real CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect } from 'vitest';
import { mapTaskQueueId, queuePrefix, runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch, startSupervisedWorkers } from '../support/faults.js';
import { it, type RedisFixtures } from '../support/fixtures.js';
import { keysMatching, redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const POISON = 'test/fixtures/jobs/poison.ts';

async function withRun(
  { prefix, redis: client }: Pick<RedisFixtures, 'prefix' | 'redis'>,
  body: (ctx: { prefix: string; env: NodeJS.ProcessEnv; ledger: string; cure: string; client: RedisFixtures['redis'] }) => Promise<void>,
) {
  const { dir, ledger } = scratch();
  const cure = join(dir, 'cured');
  await body({
    prefix,
    env: { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger, REDMAP_TEST_CURE: cure },
    ledger,
    cure,
    client,
  });
}

async function latestRun(client: RedisFixtures['redis'], prefix: string): Promise<string> {
  return waitFor('the run', async () => (await client.zrevrange(runsIndexKey(prefix), 0, 0))[0]);
}

describe('a run with failures', () => {
  it('fails once failures exceed its budget, stops handing out its tasks, and retry completes it under a new generation while BullMQ keeps the failed task', ({
    prefix,
    redis,
  }) =>
    withRun({ prefix, redis }, async ({ prefix, env, ledger, cure, client }) => {
      const inputs = ['throw', ...Array.from({ length: 30 }, (_, i) => `slow:${100 + i}`)];
      const waiting = startCli(['submit', POISON, ...inputs, '--chunk-size', '1', '--attempts', '1', '--wait', '--quiet'], { env });
      const runId = await latestRun(client, prefix);
      // Workers start once every input is enqueued, so the run can be retried (see the next test).
      await waitFor('the run to be sealed', async () => ((await readRunRecord(client, prefix, runId))?.sealed ? true : undefined));
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '1']);
      try {
        await workers.ready(1);
        const failed = await waiting.result;
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(/failed c0: input \\"throw\\" after 1 attempt\(s\): poison item: always throws/);
        // The other tasks were skipped once the run failed: far fewer than 30 were mapped.
        const mappedBefore = readLedger(ledger).filter((call) => call.item.startsWith('slow:')).length;
        expect(mappedBefore).toBeLessThan(30);

        const record = (await readRunRecord(client, prefix, runId))!;
        const queue = new Queue(record.queue, { connection: client, prefix: queuePrefix(prefix) });
        try {
          // BullMQ keeps the failed task (removeOnFail by count and age) under its generation-1 id.
          expect(await queue.getJobState(mapTaskQueueId(record, 1, 'c0'))).toBe('failed');
          writeFileSync(cure, '');
          const retried = await runCli(['retry', runId, '--wait', '--quiet'], { env });
          expect(retried.code).toBe(0);
          expect(retried.stderr).toMatch(/is mapping again \(generation 2\)/);
          expect(retried.stdout).toBe('{"key":"slow","value":30}\n{"key":"throw","value":1}\n');
          expect(await queue.getJobState(mapTaskQueueId(record, 1, 'c0'))).toBe('failed');
          expect((await readRunRecord(client, prefix, runId))?.generation).toBe(2);
        } finally {
          await queue.close();
        }
      } finally {
        await workers.stop();
      }
    }));

  it.for([
    ['with --wait, it reports the failure like any failed run', ['--wait']],
    ['without --wait, it prints the run id and says where to look', []],
  ] as const)('a run that fails while its inputs still stream: submit stops reading them and exits 1; %s', ([, flags], { prefix, redis }) =>
    withRun({ prefix, redis }, async ({ prefix, env, client }) => {
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '1']);
      const submitting = startCli(['submit', POISON, '-', '--chunk-size', '1', '--attempts', '1', '--quiet', ...flags], {
        env,
        stdinOpen: true,
      });
      try {
        await workers.ready(1);
        submitting.stdin.write('throw\n');
        const runId = await latestRun(client, prefix);
        await waitFor('the run to fail', async () => ((await readRunRecord(client, prefix, runId))?.state === 'failed' ? true : undefined));
        // The next batch meets the failed run; stdin stays open, so only that can end the submit.
        submitting.stdin.write('a\nb\n');
        const result = await submitting.result;
        expect(result.code).toBe(1);
        if (flags.length > 0) {
          expect(result.stderr).toMatch(new RegExp(`run ${runId} failed: `));
          expect(result.stderr).toMatch(/failed c0: input \\"throw\\" after 1 attempt\(s\): poison item: always throws/);
        } else {
          expect(result.stdout).toBe(`${runId}\n`);
          expect(result.stderr).toMatch(`run ${runId} failed before all its inputs were submitted; see why: redmap status ${runId}`);
        }
        const record = (await readRunRecord(client, prefix, runId))!;
        expect(record.sealed).toBe(false);
        const retried = await runCli(['retry', runId], { env });
        expect(retried.code).toBe(1);
        expect(retried.stderr).toMatch(`run ${runId} failed before all of its inputs were enqueued; clean it (redmap clean ${runId})`);
      } finally {
        submitting.stdin.end();
        await workers.stop();
      }
    }),
  );

  it('a done_with_failures run reports committed results only; retry runs the failed item and replaces the results, never mixing them', ({
    prefix,
    redis,
  }) =>
    withRun({ prefix, redis }, async ({ prefix, env, cure, client }) => {
      const inputs = ['a', 'b', 'throw', 'a'];
      const workers = startSupervisedWorkers(POISON, 1, env);
      try {
        await workers.ready(1);
        const first = await runCli(
          ['submit', POISON, ...inputs, '--chunk-size', '1', '--attempts', '1', '--max-failed-tasks', '1', '--wait', '--quiet'],
          { env },
        );
        expect(first.code).toBe(3);
        expect(first.stdout).toBe('{"key":"a","value":2}\n{"key":"b","value":1}\n');
        const runId = await latestRun(client, prefix);
        writeFileSync(cure, '');
        const retried = await runCli(['retry', runId, '--wait', '--quiet'], { env });
        expect(retried.code).toBe(0);
        expect(retried.stdout).toBe('{"key":"a","value":2}\n{"key":"b","value":1}\n{"key":"throw","value":1}\n');
        // Generation 1's results are gone, not kept beside generation 2's.
        expect(await keysMatching(client, `${prefix}:run:{${runId}}:g1:*`)).toEqual([]);
        expect((await runCli(['results', runId], { env })).stdout).toBe(retried.stdout);
      } finally {
        await workers.stop();
      }
    }));

  it('--max-failed-ratio allows that share of the sealed tasks to fail', ({ prefix, redis }) =>
    withRun({ prefix, redis }, async ({ env }) => {
      const args = ['run', POISON, 'a', 'b', 'c', 'throw', '--workers', '1', '--chunk-size', '1', '--attempts', '1', '--quiet'];
      const within = await runCli([...args, '--max-failed-ratio', '0.25'], { env });
      expect(within.code).toBe(3);
      expect(within.stdout).toBe('{"key":"a","value":1}\n{"key":"b","value":1}\n{"key":"c","value":1}\n');
      const beyond = await runCli([...args, '--max-failed-ratio', '0.2'], { env });
      expect(beyond.code).toBe(1);
      expect(beyond.stderr).toMatch(/1 map task\(s\) failed for good, more than the run allows/);
    }));

  it('retry refuses a run that did not fail, naming its state', ({ prefix, redis }) =>
    withRun({ prefix, redis }, async ({ env }) => {
      const result = await runCli(['run', POISON, 'a', '--workers', '1', '--quiet'], { env });
      expect(result.code).toBe(0);
      const runs = await runCli(['runs', '--json'], { env });
      const runId = (JSON.parse(runs.stdout.trim()) as { id: string }).id;
      const retried = await runCli(['retry', runId], { env });
      expect(retried.code).toBe(1);
      expect(retried.stderr).toMatch(new RegExp(`run ${runId} is done; only failed or done_with_failures runs can be retried`));
    }));
});

describe('cancel', () => {
  it('aborts running map calls through ctx.signal, drops the waiting tasks, and the waiting client exits 4', ({ prefix, redis }) =>
    withRun({ prefix, redis }, async ({ prefix, env, ledger, client }) => {
      const inputs = Array.from({ length: 20 }, () => 'slow:5000');
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '2']);
      try {
        await workers.ready(1);
        const waiting = startCli(['submit', POISON, ...inputs, '--chunk-size', '1', '--wait', '--quiet'], { env });
        const runId = await latestRun(client, prefix);
        await waitFor('two calls running', () => (readLedger(ledger).length >= 2 ? true : undefined));
        const cancelled = await runCli(['cancel', runId], { env });
        expect(cancelled.code).toBe(0);
        const result = await waiting.result;
        expect(result.code).toBe(4);
        await waitFor('the running calls to abort', () =>
          readLedger(ledger).filter((call) => call.event === 'aborted').length === 2 ? true : undefined,
        );
        const record = (await readRunRecord(client, prefix, runId))!;
        expect(record.state).toBe('cancelled');
        expect(await client.lrange(`${queuePrefix(prefix)}:${record.queue}:wait`, 0, -1)).toEqual([]);
        expect(readLedger(ledger).filter((call) => call.event === 'start')).toHaveLength(2);
      } finally {
        await workers.stop();
      }
    }));
});

describe('a worker asked to stop', () => {
  it('drains on SIGTERM: the running task finishes, the one it held unstarted goes back to the queue, then it exits 0', ({
    prefix,
    redis,
  }) =>
    withRun({ prefix, redis }, async ({ prefix, env, ledger, client }) => {
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '1']);
      await workers.ready(1);
      const submitted = await runCli(['submit', POISON, 'slow:4000', 'b', '--chunk-size', '1'], { env });
      const runId = submitted.stdout.trim();
      await waitFor('the slow call to start', () => (readLedger(ledger)[0] ? true : undefined));
      const record = (await readRunRecord(client, prefix, runId))!;
      const queue = new Queue(record.queue, { connection: client, prefix: queuePrefix(prefix) });
      try {
        // A worker holds more tasks than it maps: the second waits for the first one's slot.
        const held = mapTaskQueueId(record, 1, 'c1');
        await waitFor('the second task to be held', async () => ((await queue.getJobState(held)) === 'active' ? true : undefined));
        workers.kill('SIGTERM');
        const stopped = await workers.result;
        expect(stopped.code).toBe(0);
        // The slow task was committed before the worker left.
        expect(await client.sismember(runKeys(prefix, runId).committed, 'c0')).toBe(1);
        expect(readLedger(ledger).map((call) => call.item)).toEqual(['slow:4000']);
        const task = (await queue.getJob(held))!;
        expect(await task.getState()).toBe('waiting');
        expect(task.attemptsMade).toBe(0);
      } finally {
        await queue.close();
      }
    }));

  it('releases a task still running after the grace period back to the queue, without using an attempt', ({ prefix, redis }) =>
    withRun({ prefix, redis }, async ({ prefix, env, ledger, client }) => {
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '1', '--grace', '500ms']);
      await workers.ready(1);
      const submitted = await runCli(['submit', POISON, 'slow:20000', '--chunk-size', '1'], { env });
      const runId = submitted.stdout.trim();
      await waitFor('the slow call to start', () => (readLedger(ledger)[0] ? true : undefined));
      const started = Date.now();
      workers.kill('SIGTERM');
      const stopped = await workers.result;
      expect(stopped.code).toBe(0);
      expect(Date.now() - started).toBeLessThan(8000);
      const record = (await readRunRecord(client, prefix, runId))!;
      const queue = new Queue(record.queue, { connection: client, prefix: queuePrefix(prefix) });
      try {
        const task = (await queue.getJob(mapTaskQueueId(record, 1, 'c0')))!;
        expect(await task.getState()).toBe('waiting');
        expect(task.attemptsMade).toBe(0);
      } finally {
        await queue.close();
      }
    }));

  it('exits at once on a second signal', ({ prefix, redis }) =>
    withRun({ prefix, redis }, async ({ env, ledger }) => {
      const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '1']);
      await workers.ready(1);
      await runCli(['submit', POISON, 'slow:20000', '--chunk-size', '1'], { env });
      const slowCall = await waitFor('the slow call to start', () => readLedger(ledger)[0]);
      workers.kill('SIGTERM');
      await waitFor('the first signal to start the drain', () => workers.printed().stderr.includes('SIGTERM: draining'));
      workers.kill('SIGTERM');
      const stopped = await workers.result;
      expect(stopped.code).toBe(130);
      // The drain would wait for the slow call, 20 s from its start (the grace period is 30 s):
      // an exit before that did not wait for it.
      expect(Date.now()).toBeLessThan(slowCall.at + 20_000);
    }));
});
