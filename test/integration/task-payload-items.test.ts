/**
 * Small tasks carry their input items, and a worker that has read its run mapping maps such
 * a task, when first handed out, without reading the run again: the commit alone decides
 * whether it counts. These tests hand a worker that knows its run is mapping tasks that
 * must not count (committed already, split, cancelled, of an earlier incarnation) and check
 * that the results stay exact.
 */
import { describe, expect } from 'vitest';
import { defineJob, NonRetryableError, z } from '../../index.js';
import { mapTaskQueueId, runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord, type RunRecord } from '../../shared/run/run-record.js';
import { cleanRun } from '../../shared/run/run-retention.js';
import { addMapTasks, type TaskQueues } from '../../shared/tasks/task-queue.js';
import type { RedisClient } from '../../shared/redis/redis-connection.js';
import { collect, it, type RedisFixtures } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** Map calls per item, and the item `hold` that waits until the test lets it finish: its run stays mapping meanwhile. */
let calls = new Map<string, number>();
let letHoldFinish: () => void = () => {};

function resetCalls(): void {
  calls = new Map();
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  letHoldFinish = release;
  holding = hold;
}
let holding: Promise<void> = Promise.resolve();

const job = defineJob({
  name: 'payload-items',
  input: z.string(),
  async map(item) {
    calls.set(item, (calls.get(item) ?? 0) + 1);
    if (item === 'hold') await holding;
    if (item === 'poison') throw new NonRetryableError('poison item');
    return [[item, 1]];
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

/** Hands the worker the task again as a fresh BullMQ task (first delivery), carrying `items`. */
async function handOutAgain(queues: TaskQueues, run: RunRecord, task: string, items: string[]): Promise<void> {
  await addMapTasks(queues, run, run.generation, [task], () => JSON.stringify(items));
  const queue = queues.get(run.queue);
  await waitFor(`task ${task} handled`, async () => (await queue.getJob(mapTaskQueueId(run, run.generation, task))) === undefined, 10_000);
}

/** A run of a, b and hold, one item per task, with a and b committed and hold running: the run stays mapping. */
async function runHeldAfterTwoCommits({
  prefix,
  redis: client,
  workers,
  runs,
}: Pick<RedisFixtures, 'prefix' | 'redis' | 'workers' | 'runs'>) {
  resetCalls();
  await workers.start(job);
  const run = await runs.submit(job, ['a', 'b', 'hold'], { chunkSize: 1 });
  await waitFor(
    'a and b committed, hold running',
    async () => calls.get('hold') === 1 && (await committedCount(client, prefix, run.id)) === 2,
  );
  return { run, record: (await readRunRecord(client, prefix, run.id))! };
}

async function committedCount(client: RedisClient, prefix: string, runId: string): Promise<number> {
  return client.scard(runKeys(prefix, runId).committed);
}

describe('tasks that carry their items', () => {
  it('a task handed out again after its commit, to a worker that knows its run is mapping, counts once', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const { run, record } = await runHeldAfterTwoCommits({ prefix, redis: client, workers, runs });
    await handOutAgain(queues, record, 'c0', ['a']);
    // It was mapped again on the worker's word that the run is mapping; its commit was refused.
    expect(calls.get('a')).toBe(2);
    expect((await readRunRecord(client, prefix, run.id))?.duplicates).toBe(1);
    letHoldFinish();
    expect((await run.done()).state).toBe('done');
    expect(await collect(run.results())).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 1 },
      { key: 'hold', value: 1 },
    ]);
    const final = await readRunRecord(client, prefix, run.id);
    expect(final?.mapCommits).toBe(3);
    expect(final?.itemsDone).toBe(3);
  });

  it("a split chunk's original task, handed out again, is never mapped into the results", async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    resetCalls();
    await workers.start(job);
    const run = await runs.submit(job, ['p', 'poison', 'hold'], { chunkSize: 2, maxFailedTasks: 1 });
    const keys = runKeys(prefix, run.id);
    await waitFor(
      'c0 split, its items settled, hold running',
      async () =>
        calls.get('hold') === 1 &&
        (await client.sismember(keys.split, 'c0')) === 1 &&
        (await client.sismember(keys.committed, 'c0.0')) === 1 &&
        (await client.sismember(keys.failed, 'c0.1')) === 1,
    );
    const record = (await readRunRecord(client, prefix, run.id))!;
    // Items that map without failing: were the chunk taken for pending, 'q' would show in the results.
    await handOutAgain(queues, record, 'c0', ['p', 'q']);
    expect(calls.get('q')).toBe(1);
    letHoldFinish();
    expect((await run.done()).state).toBe('done_with_failures');
    expect(await collect(run.results())).toEqual([
      { key: 'hold', value: 1 },
      { key: 'p', value: 1 },
    ]);
  });

  it("a cancelled run's task does no work on a worker that knew the run was mapping", async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const { run, record } = await runHeldAfterTwoCommits({ prefix, redis: client, workers, runs });
    await run.cancel();
    // The worker heard the cancel: the held call was aborted and its task ended.
    await waitFor(
      'the held task ended',
      async () => (await queues.get(record.queue).getJob(mapTaskQueueId(record, 1, 'c2'))) === undefined,
    );
    await handOutAgain(queues, record, 'c0', ['a']);
    await handOutAgain(queues, record, 'c1', ['b']);
    expect(calls.get('a')).toBe(1);
    expect(calls.get('b')).toBe(1);
    expect((await readRunRecord(client, prefix, run.id))?.mapCommits).toBe(2);
    letHoldFinish();
  });

  it("a task of a cleaned run's earlier incarnation never commits into the run now under its id", async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    resetCalls();
    const worker = await workers.start(job);
    const first = await runs.submit(job, ['a', 'b'], { runId: 'again', chunkSize: 1 });
    expect((await first.done()).state).toBe('done');
    const earlier = (await readRunRecord(client, prefix, 'again'))!;
    await cleanRun(client, queues, prefix, 'again', worker.queue);
    const second = await runs.submit(job, ['x', 'y', 'hold'], { runId: 'again', chunkSize: 1 });
    await waitFor(
      'x and y committed, hold running',
      async () => calls.get('hold') === 1 && (await committedCount(client, prefix, 'again')) === 2,
    );
    // c2 of the earlier incarnation is pending in neither; c2 of this one is 'hold', still running.
    await handOutAgain(queues, earlier, 'c2', ['a']);
    await handOutAgain(queues, earlier, 'c0', ['a']);
    letHoldFinish();
    expect((await second.done()).state).toBe('done');
    expect(await collect(second.results())).toEqual([
      { key: 'hold', value: 1 },
      { key: 'x', value: 1 },
      { key: 'y', value: 1 },
    ]);
    expect((await readRunRecord(client, prefix, 'again'))?.mapCommits).toBe(3);
  });
});
