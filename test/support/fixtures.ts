/**
 * Vitest fixtures for tests that run jobs through Redis: each fixture owns its teardown, so a
 * test writes only what it checks. Teardown runs in reverse order of set-up: runs are closed,
 * then workers (and queues), then the prefix is wiped, then the client closed, whatever the test threw.
 *
 *   it('…', async ({ prefix, redis, workers, runs }) => {
 *     await workers.start(job);
 *     const run = await runs.submit(job, inputs);
 *     expect(await collect(run)).toEqual(…);
 *   });
 */
import { test as base } from 'vitest';
import {
  openRun,
  submitRun,
  type ConnectionOptions,
  type InputSource,
  type Job,
  type ResultEntry,
  type RunHandle,
  type StartWorkerOptions,
  type SubmitRunOptions,
  type WorkerHandle,
} from '../../index.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { release, track } from './resources.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from './test-redis.js';
import { startTestWorker } from './workers.js';

type TestClient = Awaited<ReturnType<typeof openClient>>;

export interface Workers {
  /** An in-process worker on the test's prefix (concurrency 4 unless given); closed after the test unless closed before. */
  start(job: Job, options?: StartWorkerOptions): Promise<WorkerHandle>;
}

export interface Runs {
  /** `submitRun` on the test's Redis and prefix; the handle is closed after the test. */
  submit(job: Job, inputs: InputSource, options?: SubmitRunOptions): Promise<RunHandle>;
  /** `openRun` on the test's Redis and prefix; the handle is closed after the test. */
  open(runId: string, options?: ConnectionOptions): Promise<RunHandle>;
}

export interface RedisFixtures {
  /** A client of the test's own to the suite's Redis. */
  redis: TestClient;
  /** A key prefix of the test's own; every key under it is removed after the test. */
  prefix: string;
  /** The task queues of the test's prefix, on its client. */
  queues: TaskQueues;
  workers: Workers;
  runs: Runs;
}

interface Closable {
  close(options?: object): Promise<void>;
}

/** Closes `handle` once: after the test, unless the test closed it itself. */
function closedOnce<T extends Closable>(handle: T, open: Set<Closable>): T {
  open.add(handle);
  const close = handle.close.bind(handle);
  return Object.assign(handle, {
    async close(options?: object) {
      if (!open.delete(handle)) return;
      await close(options);
    },
  });
}

async function closeAll(open: Set<Closable>): Promise<void> {
  for (const handle of [...open].reverse()) await handle.close();
}

export const test = base.extend<RedisFixtures>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  redis: async ({}, use) => {
    const client = await openClient();
    try {
      await use(client);
    } finally {
      await client.close();
    }
  },
  prefix: async ({ redis }, use) => {
    const prefix = testPrefix();
    await use(prefix);
    await wipePrefix(redis, prefix);
  },
  queues: async ({ redis, prefix }, use) => {
    const queues = new TaskQueues(redis, prefix);
    await use(queues);
    await queues.close();
  },
  workers: async ({ prefix }, use) => {
    const open = new Set<Closable>();
    await use({ start: async (job, options) => closedOnce(await startTestWorker(job, { prefix, ...options }), open) });
    await closeAll(open);
  },
  runs: async ({ prefix }, use) => {
    const open = new Set<Closable>();
    // Tracked like workers: closed by the teardown, so the leak check sees one only if that failed.
    const tracked = (run: RunHandle): RunHandle => {
      track(run, `run ${run.id}`);
      const close = run.close.bind(run);
      return closedOnce(
        Object.assign(run, {
          async close() {
            release(run);
            await close();
          },
        }),
        open,
      );
    };
    await use({
      submit: async (job, inputs, options) => tracked(await submitRun(job, inputs, { redis: redisUrl(), prefix, ...options })),
      open: async (runId, options) => tracked(await openRun(runId, { redis: redisUrl(), prefix, ...options })),
    });
    await closeAll(open);
  },
});

export const it = test;

/** Every result entry of a run (or of any result stream), in the order read. */
export async function collect(source: RunHandle | AsyncIterable<ResultEntry>): Promise<ResultEntry[]> {
  const entries: ResultEntry[] = [];
  for await (const entry of Symbol.asyncIterator in source ? source : source.results()) entries.push(entry);
  return entries;
}
