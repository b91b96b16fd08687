/**
 * The recovery sweep repairs what a crash or a Redis rollback interrupted: a flip to
 * reducing whose reduce tasks were never enqueued, a sealed run whose tasks are all
 * settled but which never flipped, and map tasks that vanished from the queue. Nothing
 * else is needed for those runs to finish.
 */
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { defineJob, z, type RunHandle } from '../../index.js';
import { queuePrefix, runKeys, mapTaskQueueId } from '../../shared/redis/redis-keys.js';
import { readRunRecord, readRunSnapshot } from '../../shared/run/run-record.js';
import type { TaskQueues } from '../../shared/tasks/task-queue.js';
import type { CommitOutcome } from '../../worker/commit-map-output.js';
import { commitByHand } from '../support/commit-by-hand.js';
import { countWords } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';

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
const TASKS = ['c0', 'c1', 'c2'];

/**
 * Commits every task by hand, as workers would, and takes the map tasks out of the queue:
 * a worker taking one would repair the run itself, and these tests are about the sweep.
 */
async function commitEveryTaskByHand(
  client: Redis,
  queues: TaskQueues,
  prefix: string,
  run: RunHandle,
): Promise<CommitOutcome | undefined> {
  let last: CommitOutcome | undefined;
  for (const task of TASKS) last = await commitByHand(client, { prefix, job, runId: run.id, taskId: task, attemptId: `t-${task}` });
  const record = (await readRunRecord(client, prefix, run.id))!;
  const queue = queues.get(record.queue);
  for (const task of TASKS) await queue.remove(mapTaskQueueId(record, 1, task));
  expect(await queue.getJobCounts('wait', 'active', 'delayed')).toEqual({ wait: 0, active: 0, delayed: 0 });
  return last;
}

describe('the recovery sweep', () => {
  it('enqueues the reduce tasks of a run that flipped to reducing when its worker died before enqueueing them', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const run = await runs.submit(job, inputs, { chunkSize: 4 });
    // Stop where the worker that committed the last task died: after the flip, before enqueueing reduce tasks.
    expect(await commitEveryTaskByHand(client, queues, prefix, run)).toEqual({ outcome: 'flipped', generation: 1 });
    expect((await readRunRecord(client, prefix, run.id))!.state).toBe('reducing');

    await workers.start(job, { sweep: fastSweep });
    const status = await run.done();
    expect(status.state).toBe('done');
    const results = await collect(run);
    expect(results).toEqual(countWords(inputs));
  });

  it('flips and reduces a sealed run whose tasks are all committed but which is still mapping, as after a rollback', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const run = await runs.submit(job, inputs, { chunkSize: 4 });
    expect(await commitEveryTaskByHand(client, queues, prefix, run)).toEqual({ outcome: 'flipped', generation: 1 });
    // A rollback that kept the commits but lost the flip: the run record goes back to mapping.
    const keys = runKeys(prefix, run.id);
    await client.hset(keys.meta, 'state', 'mapping');
    await client.hdel(keys.meta, 'reducingAt', 'reduceDue');
    expect(await readRunSnapshot(client, prefix, run.id)).toMatchObject({
      state: 'mapping',
      sealed: true,
      committedTasks: 3,
      totalTasks: 3,
    });

    await workers.start(job, { sweep: fastSweep });
    // Nothing queued is left to finish the run: only the sweep can.
    const status = await run.done({ signal: AbortSignal.timeout(30_000) });
    expect(status.state).toBe('done');
    const results = await collect(run);
    expect(results).toEqual(countWords(inputs));
  });

  it('adds again a map task that vanished from the queue, once the run stops making progress', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const run = await runs.submit(job, inputs, { chunkSize: 4 });
    const record = (await readRunRecord(client, prefix, run.id))!;
    // As after a Redis rollback: the task is gone from the queue, its inputs are still stored.
    expect(await queues.get(record.queue).remove(mapTaskQueueId(record, 1, 'c1'))).toBe(1);
    expect(await client.exists(`${queuePrefix(prefix)}:${record.queue}:${mapTaskQueueId(record, 1, 'c1')}`)).toBe(0);

    await workers.start(job, { sweep: fastSweep });
    const status = await run.done();
    expect(status.state).toBe('done');
    expect((await readRunSnapshot(client, prefix, run.id))?.committedTasks).toBe(3);
    const results = await collect(run);
    expect(results).toEqual(countWords(inputs));
  });
});
