/**
 * `status` counts right: on a run of a known number of tasks with one retry, one failure for
 * good and one duplicate commit (a task delivered twice, as BullMQ may), the numbers are
 * exact; and it lists the worker processes of the run's job, with their version and tasks
 * in flight, until they stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { defineJob, NonRetryableError, z } from '../../index.js';
import { jobFingerprint } from '../../shared/job/fingerprint.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { openTaskQueue, TASK_PAYLOAD_VERSION } from '../../shared/tasks/task-queue.js';
import { listWorkers } from '../../shared/workers/worker-registry.js';
import { runCli, startCli } from '../support/cli.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

// Calls of items "held" and "last" wait until the test lets them go, so both copies of a task
// delivered twice run at once while the run is still mapping, and a status taken meanwhile
// sees tasks in flight.
const gate = () => {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};
let held = gate();
let last = gate();

const countingJob = defineJob({
  name: 'status-numbers',
  input: z.string(),
  async map(item, ctx) {
    await sleep(50);
    if (item === 'held') await held.opened;
    if (item === 'last') await last.opened;
    if (item === 'flaky' && ctx.attempt === 1) throw new Error('flaky: its first attempt fails');
    if (item === 'broken') throw new NonRetryableError('broken: never maps');
    return [[item.slice(0, 1), 1]];
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

const inputs = ['flaky', 'broken', 'held', 'last', ...Array.from({ length: 16 }, (_, i) => `ok-${i}`)];

interface StatusJson {
  state: string;
  tasks: { total: number; committed: number; failed: number; retried: number; duplicates: number };
  items: { total: number; done: number };
  partitions: { total: number; reduced: number };
  workers: Array<{ pid: number; host: string; version: string; activeTasks: number; concurrency: number; servesRun: boolean }>;
  pace: { itemsPerSecondAverage: number; etaMs: number | null };
}

describe('status', () => {
  it('counts a run of 20 tasks right: 19 committed, 1 failed for good, 1 retry, 1 duplicate commit ignored', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const run = await runs.submit(countingJob, inputs, {
      chunkSize: 1,
      backoff: 'fixed:100ms',
      maxFailedTasks: 1,
    });
    // Task c2 (item "held") delivered a second time under another id, at the head of the
    // queue: both copies run at once, and the second to commit finds it already committed.
    const record = (await readRunRecord(client, prefix, run.id))!;
    const queue = openTaskQueue(client, prefix, record.queue);
    const payload = {
      v: TASK_PAYLOAD_VERSION,
      kind: 'map',
      fp: await jobFingerprint(countingJob),
      run: run.id,
      inc: record.incarnation,
      gen: 1,
      task: 'c2',
    };
    await queue.add('map', payload, { jobId: `${run.id}.redelivered.c2`, lifo: true, removeOnComplete: true });
    await queue.close();

    const worker = await workers.start(countingJob, { concurrency: 4 });
    try {
      const during = await waitFor('the worker to show the held tasks in flight', async () => {
        const view = JSON.parse((await runCli(['status', run.id, '--json'], { env })).stdout) as StatusJson;
        return view.workers.some((seen) => seen.activeTasks >= 3) ? view : undefined;
      });
      held.open();
      await waitFor('the second copy to commit', async () =>
        (await readRunRecord(client, prefix, run.id))!.duplicates === 1 ? true : undefined,
      );
      last.open();
      expect(during.workers).toEqual([
        expect.objectContaining({ pid: process.pid, version: worker.fingerprint, concurrency: 4, servesRun: true }),
      ]);
      const final = await run.done();
      expect(final.state).toBe('done_with_failures');
    } finally {
      held.open();
      last.open();
      await worker.close();
      [held, last] = [gate(), gate()];
    }

    const status = await runCli(['status', run.id, '--json'], { env });
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as StatusJson;
    expect(view.state).toBe('done_with_failures');
    expect(view.tasks).toEqual({ total: 20, committed: 19, failed: 1, retried: 1, duplicates: 1 });
    expect(view.items).toEqual({ total: 20, done: 19 });
    expect(view.partitions).toEqual({ total: 2, reduced: 2 });
    expect(view.pace.etaMs).toBeNull();
    expect(view.pace.itemsPerSecondAverage).toBeGreaterThan(0);
    // The worker removed itself from the registry when it stopped.
    expect(view.workers).toEqual([]);
    expect(await listWorkers(client, prefix)).toEqual([]);

    const text = await runCli(['status', run.id], { env });
    expect(text.stdout).toMatch(/tasks {7}19\/20 committed \(100%\), 1 failed for good, 1 retry, 1 duplicate commit ignored/);
    expect(text.stdout).toMatch(/items {7}19\/20 done, [\d.]+\/s on average/);
    expect(text.stdout).toMatch(/workers {5}none of job status-numbers seen in the last 10s/);
  });

  it('--watch refreshes every second until the run ends, the items going up', async ({ prefix, workers, runs }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const run = await runs.submit(countingJob, ['held', ...Array.from({ length: 15 }, (_, i) => `ok-${i}`)], {
      chunkSize: 1,
    });
    const worker = await workers.start(countingJob, { concurrency: 2 });
    try {
      const watching = startCli(['status', run.id, '--watch', '--json'], { env });
      // The held item keeps the run going until the watch has printed a view and refreshed.
      await waitFor('two views printed', () => watching.printed().stdout.split('\n').length > 2 || undefined);
      held.open();
      const watched = await watching.result;
      expect(watched.code).toBe(0);
      const views = watched.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as StatusJson);
      expect(views.length).toBeGreaterThanOrEqual(2);
      expect(views[views.length - 1]!.state).toBe('done');
      const done = views.map((view) => view.items.done);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(done[done.length - 1]).toBe(16);
      expect(views.some((view) => view.workers.length === 1 && view.workers[0]!.servesRun)).toBe(true);
    } finally {
      // Closed before the gate is replaced: no call may wait on the new one.
      held.open();
      await worker.close();
      held = gate();
    }
  });
});
