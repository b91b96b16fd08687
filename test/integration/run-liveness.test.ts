/**
 * Every way a task can end moves its run forward, and nothing a crashed client leaves
 * behind lives forever: a last attempt that fails outside `map` settles its task (or fails
 * the run), a task BullMQ failed unrecorded is recorded by the sweep, a run abandoned in
 * `submitting` is given up and expires, and the runs index forgets runs that are gone.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { defineJob, submitRun, z } from '../../index.js';
import { queuePrefix, runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { listFailures } from '../../shared/run/run-failures.js';
import { runCli } from '../support/cli.js';
import { startSupervisedWorkers } from '../support/faults.js';
import { wordCountLines } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const WORDS = 'test/fixtures/jobs/fault-words.ts';
const lines = Array.from({ length: 12 }, (_, i) => `one two w${i % 5} three${i % 3}`);
const fastSweep = { intervalMs: 200, reduceGraceMs: 500, stallMs: 1000 };

const wordJob = defineJob({
  name: 'liveness-words',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

/** An input that yields `first`, then waits until `end()` is called: a producer stuck on its source. */
function stalledInput(first: string[]): { items: AsyncIterable<string>; end(): void } {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    items: (async function* () {
      yield* first;
      await ended;
    })(),
    end,
  };
}

describe('a run always moves forward', () => {
  it('a chunk whose commit fails on every attempt is split, and its items commit: the run ends done and exact', async ({
    prefix,
    redis: client,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_FAILPOINTS: 'before-map-commit=c1!' };
    const workers = startSupervisedWorkers(WORDS, 1, env);
    try {
      await workers.ready(1);
      const args = ['submit', WORDS, '-', '--chunk-size', '3', '--attempts', '2', '--backoff', 'fixed:100ms', '--wait', '--quiet'];
      const result = await runCli(args, { env, input: `${lines.join('\n')}\n` });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(wordCountLines(lines));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      expect(await client.smembers(runKeys(prefix, runId).split)).toEqual(['c1']);
      // Three chunks and c1's three items committed once each.
      expect((await readRunRecord(client, prefix, runId))?.mapCommits).toBe(6);
    } finally {
      await workers.stop();
    }
  });

  it('a partition whose commit fails on its last attempt fails the run, saying why, instead of leaving it reducing', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_FAILPOINTS: 'before-reduce-commit=1!' };
    const workers = startSupervisedWorkers(WORDS, 1, env);
    try {
      await workers.ready(1);
      const args = ['submit', WORDS, '-', '--chunk-size', '3', '--attempts', '2', '--backoff', 'fixed:100ms', '--wait', '--quiet'];
      const result = await runCli(args, { env, input: `${lines.join('\n')}\n` });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/reduce of partition 1 failed for good: failpoint before-reduce-commit=1/);
    } finally {
      await workers.stop();
    }
  });

  it('the sweep records a task that BullMQ failed without redmap hearing of it, and the run ends', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const run = await runs.submit(wordJob, ['a b'], { chunkSize: 1, maxFailedTasks: 1 });
    const record = (await readRunRecord(client, prefix, run.id))!;
    // A worker that failed the task for good and died before recording it: BullMQ keeps the
    // failed task, and a re-add of its id would be swallowed.
    const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    const failing = new Worker(
      record.queue,
      () => {
        throw new UnrecoverableError('the worker lost its connection while recording the failure');
      },
      { connection, prefix: queuePrefix(prefix) },
    );
    try {
      const failedTasks = `${queuePrefix(prefix)}:${record.queue}:failed`;
      await waitFor('the task to fail in the queue', async () => (await client.zcard(failedTasks)) === 1);
    } finally {
      await failing.close();
      connection.disconnect();
    }
    await workers.start(wordJob, { sweep: fastSweep });
    const status = await run.done();
    expect(status.state).toBe('done_with_failures');
    const failures = await listFailures(client, prefix, run.id);
    expect(failures.map((failure) => [failure.task, failure.error])).toEqual([
      ['c0', 'the worker lost its connection while recording the failure'],
    ]);
  });

  it('a run left submitting by a producer not seen for its retention is failed as abandoned, and expires', async ({
    prefix,
    redis: client,
    workers,
  }) => {
    const input = stalledInput(['a b']);
    const submitting = submitRun(wordJob, input.items, { redis: redisUrl(), prefix, chunkSize: 1, retention: '1s' });
    submitting.catch(() => {});
    await workers.start(wordJob, { sweep: fastSweep });
    try {
      const runId = await waitFor('the run to be created', async () => (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]);
      const failed = await waitFor('the sweep to give the run up', async () => {
        const record = await readRunRecord(client, prefix, runId);
        return record?.state === 'failed' ? record : undefined;
      });
      expect(failed.error).toMatch(/abandoned: its producer stopped before it sealed the run/);
      // Failing the run and starting its retention clock are two steps: the clock may start a moment later.
      await waitFor('the retention clock to start', async () => (await client.pttl(runKeys(prefix, runId).meta)) > 0);
      await waitFor('the run to expire', async () => (await client.exists(runKeys(prefix, runId).meta)) === 0);
      // The producer coming back finds its run gone, and says so.
      input.end();
      await expect(submitting).rejects.toThrow(/vanished from Redis/);
    } finally {
      input.end();
    }
  });

  it('clean --older-than removes a run left submitting by a producer not seen for that long', async ({ prefix, redis: client }) => {
    const input = stalledInput(['a b']);
    const submitting = submitRun(wordJob, input.items, { redis: redisUrl(), prefix, chunkSize: 1 });
    submitting.catch(() => {});
    try {
      const runId = await waitFor('the first batch to be enqueued', async () => {
        const id = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0];
        return id && (await client.hexists(runKeys(prefix, id).inputs, 'c0')) ? id : undefined;
      });
      const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
      const early = await runCli(['clean', '--older-than', '1m'], { env });
      expect(early.stderr).toMatch(/0 run\(s\) removed/);
      // Stale once its producer has been silent longer than the threshold.
      await waitFor('the producer to be silent for 1 s', async () => {
        const record = await readRunRecord(client, prefix, runId);
        return Date.now() - (record?.producerAt ?? Date.now()) > 1100;
      });
      const cleaned = await runCli(['clean', '--older-than', '1s'], { env });
      expect(cleaned.stderr).toMatch(new RegExp(`removed run ${runId}`));
      expect(await client.exists(runKeys(prefix, runId).meta)).toBe(0);
      input.end();
      await expect(submitting).rejects.toThrow(/vanished from Redis/);
    } finally {
      input.end();
    }
  });

  it('the sweep drops from the runs index the runs whose record is gone', async ({ prefix, redis: client, workers, runs }) => {
    await client.zadd(runsIndexKey(prefix), 1, 'gone-1', 2, 'gone-2', 3, 'gone-3');
    const run = await runs.submit(wordJob, ['a b']);
    await workers.start(wordJob, { sweep: fastSweep });
    expect((await run.done()).state).toBe('done');
    await waitFor('the index to forget the vanished runs', async () => (await client.zcard(runsIndexKey(prefix))) === 1);
    expect(await client.zrange(runsIndexKey(prefix), '0', '-1')).toEqual([run.id]);
  });
});
