/**
 * The recovery sweep repairs what a crash or a Redis rollback interrupted: a flip to
 * reducing whose reduce tasks were never enqueued, and map tasks that vanished from the
 * queue. Nothing else is needed for those runs to finish.
 */
import { describe, expect, it } from 'vitest';
import { defineJob, runLocally, submitRun, z, type ResultEntry } from '../../index.js';
import { commitMapOutput } from '../../worker/commit-map-output.js';
import { mapItems } from '../../worker/map-task.js';
import { queuePrefix, runKeys, mapJobId } from '../../shared/redis-keys.js';
import { readRunRecord, readRunSnapshot } from '../../shared/run-record.js';
import { silentLogger } from '../../shared/logger.js';
import { TaskQueues } from '../../shared/task-queue.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';
import { startTestWorker } from '../support/workers.js';

const job = defineJob({
  name: 'sweep-words',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

const inputs = Array.from({ length: 12 }, (_, i) => `red green b${i % 3}`);
const fastSweep = { intervalMs: 200, reduceGraceMs: 500, stallMs: 1500 };

describe('the recovery sweep', () => {
  it('enqueues the reduce tasks of a run that flipped to reducing when its worker died before enqueueing them', async () => {
    const prefix = testPrefix();
    const client = await openClient();
    const queues = new TaskQueues(client, prefix);
    const run = await submitRun(job, inputs, { redis: redisUrl(), prefix, chunkSize: 4 });
    try {
      // Commit every task by hand, as a worker would, and stop where the worker died: after the flip.
      const keys = runKeys(prefix, run.id);
      const record = (await readRunRecord(client, prefix, run.id))!;
      let last;
      for (const task of ['c0', 'c1', 'c2']) {
        const items = JSON.parse((await client.hget(keys.inputs, task))!) as string[];
        const output = await mapItems({
          job,
          items,
          partitions: 2,
          callTimeoutMs: 5000,
          signal: new AbortController().signal,
          runId: run.id,
          taskId: task,
          attempt: 1,
          logFor: () => silentLogger(),
        });
        last = await commitMapOutput({
          client,
          prefix,
          run: record,
          generation: 1,
          taskId: task,
          attemptId: `t-${task}`,
          itemCount: items.length,
          output,
        });
      }
      expect(last).toEqual({ outcome: 'flipped', generation: 1 });
      expect((await readRunRecord(client, prefix, run.id))?.state).toBe('reducing');
      const queue = queues.get(record.queue);
      // No reduce task is queued. The map tasks, committed by hand, go too: a worker taking one
      // would notice the missing reduce tasks itself, and this test is about the sweep.
      for (const task of ['c0', 'c1', 'c2']) await queue.remove(mapJobId(record, 1, task));
      expect(await queue.getJobCounts('wait', 'active', 'delayed')).toEqual({ wait: 0, active: 0, delayed: 0 });

      const worker = await startTestWorker(job, { prefix, sweep: fastSweep });
      try {
        const status = await run.done();
        expect(status.state).toBe('done');
        const results: ResultEntry[] = [];
        for await (const entry of run.results()) results.push(entry);
        expect(results).toEqual(await runLocally(job, inputs, { chunkSize: 4 }));
      } finally {
        await worker.close();
      }
    } finally {
      await queues.close();
      await run.close();
      await wipePrefix(client, prefix);
      await client.close();
    }
  });

  it('adds again a map task that vanished from the queue, once the run stops making progress', async () => {
    const prefix = testPrefix();
    const client = await openClient();
    const queues = new TaskQueues(client, prefix);
    const run = await submitRun(job, inputs, { redis: redisUrl(), prefix, chunkSize: 4 });
    try {
      const record = (await readRunRecord(client, prefix, run.id))!;
      // As after a Redis rollback: the task is gone from the queue, its inputs are still stored.
      expect(await queues.get(record.queue).remove(mapJobId(record, 1, 'c1'))).toBe(1);
      expect(await client.exists(`${queuePrefix(prefix)}:${record.queue}:${mapJobId(record, 1, 'c1')}`)).toBe(0);

      const worker = await startTestWorker(job, { prefix, sweep: fastSweep });
      try {
        const status = await run.done();
        expect(status.state).toBe('done');
        expect((await readRunSnapshot(client, prefix, run.id))?.committedTasks).toBe(3);
        const results: ResultEntry[] = [];
        for await (const entry of run.results()) results.push(entry);
        expect(results).toEqual(await runLocally(job, inputs, { chunkSize: 4 }));
      } finally {
        await worker.close();
      }
    } finally {
      await queues.close();
      await run.close();
      await wipePrefix(client, prefix);
      await client.close();
    }
  });
});
