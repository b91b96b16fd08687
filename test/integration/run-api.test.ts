/**
 * A run through Redis from code, with in-process workers: the public API end to end, and
 * the edges of the map phase (an empty run, a run whose tasks all commit before the seal).
 */
import { describe, expect, it } from 'vitest';
import { defineJob, runLocally, submitRun, z, type ResultEntry, type RunHandle } from '../../index.js';
import { runsIndexKey } from '../../shared/redis-keys.js';
import { readRunSnapshot } from '../../shared/run-record.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';
import { startTestWorker } from '../support/workers.js';

const wordCount = defineJob({
  name: 'api-word-count',
  input: z.string(),
  *map(line) {
    for (const word of line.toLowerCase().match(/[a-z0-9]+/g) ?? []) yield [word, 1] as const;
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 3,
});

/** Values reach reduce in input order: joining them is order-sensitive, so any mix-up shows. */
const joinInOrder = defineJob({
  name: 'api-join-order',
  input: z.number(),
  map: (n) => [[`k${n % 5}`, n]],
  reduce: (_key, values: number[]) => values.join(','),
  partitions: 2,
});

function lines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `The quick ${i % 7} brown FOX ${i % 13} jumps over ${i % 3} lazy dogs`);
}

async function collect(handle: RunHandle): Promise<ResultEntry[]> {
  const results: ResultEntry[] = [];
  for await (const entry of handle.results()) results.push(entry);
  return results;
}

describe('a run through Redis', () => {
  it('gives the same result as one process, with several chunks and partitions', async () => {
    const prefix = testPrefix();
    const worker = await startTestWorker(wordCount, { prefix });
    const inputs = lines(500);
    const run = await submitRun(wordCount, inputs, { redis: redisUrl(), prefix, chunkSize: 37 });
    try {
      const status = await run.done();
      expect(status.state).toBe('done');
      expect(status.tasks).toEqual({ total: 14, committed: 14, failed: 0, retried: 0, duplicates: 0 });
      expect(status.items).toEqual({ total: 500, done: 500 });
      expect(await collect(run)).toEqual(await runLocally(wordCount, inputs, { chunkSize: 37 }));
    } finally {
      await run.close();
      await worker.close();
    }
  });

  it('hands values to reduce in input order, whatever order the tasks commit in', async () => {
    const prefix = testPrefix();
    const worker = await startTestWorker(joinInOrder, { prefix, concurrency: 8 });
    const inputs = Array.from({ length: 200 }, (_, i) => i);
    const run = await submitRun(joinInOrder, inputs, { redis: redisUrl(), prefix, chunkSize: 3 });
    try {
      expect((await run.done()).state).toBe('done');
      const results = await collect(run);
      expect(results).toEqual(await runLocally(joinInOrder, inputs, { chunkSize: 3 }));
      expect(results[0]).toEqual({ key: 'k0', value: inputs.filter((n) => n % 5 === 0).join(',') });
    } finally {
      await run.close();
      await worker.close();
    }
  });

  it('ends an empty run done, with no results', async () => {
    const prefix = testPrefix();
    const worker = await startTestWorker(wordCount, { prefix });
    const run = await submitRun(wordCount, [], { redis: redisUrl(), prefix });
    try {
      const status = await run.done();
      expect(status.state).toBe('done');
      expect(status.tasks.total).toBe(0);
      expect(await collect(run)).toEqual([]);
    } finally {
      await run.close();
      await worker.close();
    }
  });

  it('ends a run done when workers commit every task before the producer seals it', async () => {
    const prefix = testPrefix();
    const client = await openClient();
    const worker = await startTestWorker(wordCount, { prefix });
    const inputs = lines(40);
    // The input stream ends only once every task is committed: the seal comes last. The run
    // id is needed before submitRun returns (it returns after the seal): read from the index.
    async function* slowToEnd(): AsyncGenerator<string> {
      yield* inputs;
      await waitFor(
        'the 4 tasks to be committed',
        async () => {
          const [runId] = await client.zrange(runsIndexKey(prefix), '0', '0');
          return runId !== undefined && (await readRunSnapshot(client, prefix, runId))?.committedTasks === 4;
        },
        { intervalMs: 20 },
      );
    }
    const run = await submitRun(wordCount, slowToEnd(), { redis: redisUrl(), prefix, chunkSize: 10 });
    try {
      const before = await readRunSnapshot(client, prefix, run.id);
      expect(before?.sealed).toBe(true);
      const status = await run.done();
      expect(status.state).toBe('done');
      expect(await collect(run)).toEqual(await runLocally(wordCount, inputs, { chunkSize: 10 }));
    } finally {
      await run.close();
      await worker.close();
      await wipePrefix(client, prefix);
      await client.close();
    }
  });

  it('rejects with the error of an input source that breaks while a batch is being enqueued', async () => {
    const prefix = testPrefix();
    const client = await openClient();
    // 16 one-item tasks fill the first batch; the next read fails while it is enqueued.
    async function* breaking(): AsyncGenerator<string> {
      yield* lines(16);
      throw new Error('the input source broke');
    }
    try {
      await expect(submitRun(wordCount, breaking(), { redis: redisUrl(), prefix, chunkSize: 1 })).rejects.toThrow('the input source broke');
      const [runId] = await client.zrange(runsIndexKey(prefix), '0', '0');
      // Not sealed: submitting the same run id again resumes it.
      expect((await readRunSnapshot(client, prefix, runId!))?.state).toBe('submitting');
    } finally {
      await wipePrefix(client, prefix);
      await client.close();
    }
  });
});
