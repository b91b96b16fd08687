/**
 * A run through Redis from code, with in-process workers: the public API end to end (a
 * run reopened by id from another client, floating-point sums that equal a local run's),
 * and the edges of the map phase (an empty run, a run whose tasks all commit before the seal).
 */
import { describe, expect } from 'vitest';
import { defineJob, openRun, runLocally, submitRun, z, type ResultEntry, type RunStatus } from '../../index.js';
import { runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { seededRandom } from '../support/faults.js';
import { countWords } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

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

/** Sums of floating-point values, combined on the worker and again in the reducer. */
const floatSums = defineJob({
  name: 'api-float-sums',
  input: z.tuple([z.string(), z.number()]),
  map: ([key, value]) => [[key, value]],
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

/** Values from 1e-4 to 1e12, of both signs: adding them in another order gives other bits. */
function floatInputs(count: number): Array<[string, number]> {
  const random = seededRandom(20261127);
  return Array.from({ length: count }, (_, i) => [`k${i % 3}`, (random() - 0.5) * 10 ** Math.floor(random() * 16 - 4)]);
}

/** Each chunk's values folded left to right, then the chunks' sums in input order; reduce adds them to 0. */
function chunkedSums(inputs: Array<[string, number]>, chunkSize: number): ResultEntry[] {
  const totals = new Map<string, number>();
  for (let start = 0; start < inputs.length; start += chunkSize) {
    const chunk = new Map<string, number>();
    for (const [key, value] of inputs.slice(start, start + chunkSize)) chunk.set(key, chunk.has(key) ? chunk.get(key)! + value : value);
    for (const [key, sum] of chunk) totals.set(key, totals.has(key) ? totals.get(key)! + sum : sum);
  }
  return [...totals].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, sum]) => ({ key, value: 0 + sum }));
}

/** Each key's values joined in input order, in plain code: the truth for joinInOrder. */
function joinedInOrder(inputs: number[]): ResultEntry[] {
  const joined = new Map<string, number[]>();
  for (const n of inputs) joined.set(`k${n % 5}`, [...(joined.get(`k${n % 5}`) ?? []), n]);
  return [...joined].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, values]) => ({ key, value: values.join(',') }));
}

function lines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `The quick ${i % 7} brown FOX ${i % 13} jumps over ${i % 3} lazy dogs`);
}

describe('a run through Redis', () => {
  it('gives the same result as one process, with several chunks and partitions', async ({ workers, runs }) => {
    await workers.start(wordCount);
    const inputs = lines(500);
    const run = await runs.submit(wordCount, inputs, { chunkSize: 37 });
    const status = await run.done();
    expect(status.state).toBe('done');
    expect(status.tasks).toEqual({ total: 14, committed: 14, failed: 0, retried: 0, duplicates: 0 });
    expect(status.items).toEqual({ total: 500, done: 500 });
    expect(await collect(run)).toEqual(countWords(inputs));
    expect(await collect(run)).toEqual(await runLocally(wordCount, inputs, { chunkSize: 37 }));
  });

  it('hands values to reduce in input order, whatever order the tasks commit in', async ({ workers, runs }) => {
    await workers.start(joinInOrder, { concurrency: 8 });
    const inputs = Array.from({ length: 200 }, (_, i) => i);
    const run = await runs.submit(joinInOrder, inputs, { chunkSize: 3 });
    expect((await run.done()).state).toBe('done');
    const results = await collect(run);
    expect(results).toEqual(joinedInOrder(inputs));
    expect(results).toEqual(await runLocally(joinInOrder, inputs, { chunkSize: 3 }));
  });

  it('sums floating-point values to the same bits as one process: each task combines its values in input order, the reducer the tasks in input order', async ({
    workers,
    runs,
  }) => {
    await workers.start(floatSums, { concurrency: 8 });
    const inputs = floatInputs(600);
    const run = await runs.submit(floatSums, inputs, { chunkSize: 7 });
    expect((await run.done()).state).toBe('done');
    const results = await collect(run);
    // The order matters for these values: summed in one pass, or in chunks of another size, other bits come out.
    const onePass = chunkedSums(inputs, inputs.length);
    expect(onePass).not.toEqual(chunkedSums(inputs, 7));
    expect(chunkedSums(inputs, 8)).not.toEqual(chunkedSums(inputs, 7));
    // Exact equality (Object.is on each number), no tolerance: the promise is the same bits,
    // and chunkedSums adds in the documented order in plain code.
    expect(results).toEqual(chunkedSums(inputs, 7));
    expect(results).toEqual(await runLocally(floatSums, inputs, { chunkSize: 7 }));
  });

  it('is reopened by id from another client with openRun, followed to its end, and read', async ({ workers, runs }) => {
    const inputs = lines(200);
    const submitted = await runs.submit(wordCount, inputs, { chunkSize: 20 });
    // The submitting client goes away; nothing of it is needed to follow the run.
    await submitted.close();
    const reopened = await runs.open(submitted.id);
    await workers.start(wordCount);
    expect(reopened.id).toBe(submitted.id);
    const seen: RunStatus[] = [];
    const status = await reopened.done({ onProgress: (update) => seen.push(update) });
    expect(status).toMatchObject({ id: submitted.id, state: 'done', items: { total: 200, done: 200 } });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((update) => update.id === submitted.id)).toBe(true);
    expect(await collect(reopened)).toEqual(countWords(inputs));
    expect((await reopened.status()).state).toBe('done');
  });

  it('openRun refuses an id no run has, with RUN_NOT_FOUND', async ({ prefix }) => {
    await expect(openRun('never-submitted', { redis: redisUrl(), prefix })).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      message: expect.stringMatching(/run never-submitted: unknown/),
    });
  });

  it('ends an empty run done, with no results', async ({ workers, runs }) => {
    await workers.start(wordCount);
    const run = await runs.submit(wordCount, []);
    const status = await run.done();
    expect(status.state).toBe('done');
    expect(status.tasks.total).toBe(0);
    expect(await collect(run)).toEqual([]);
  });

  it('ends a run done when workers commit every task before the producer seals it', async ({ prefix, redis: client, workers, runs }) => {
    await workers.start(wordCount);
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
    const run = await runs.submit(wordCount, slowToEnd(), { chunkSize: 10 });
    const before = await readRunSnapshot(client, prefix, run.id);
    expect(before?.sealed).toBe(true);
    const status = await run.done();
    expect(status.state).toBe('done');
    expect(await collect(run)).toEqual(countWords(inputs));
  });

  it('rejects with the error of an input source that breaks while a batch is being enqueued', async ({ prefix, redis: client }) => {
    // 16 one-item tasks fill the first batch; the next read fails while it is enqueued.
    async function* breaking(): AsyncGenerator<string> {
      yield* lines(16);
      throw new Error('the input source broke');
    }
    await expect(submitRun(wordCount, breaking(), { redis: redisUrl(), prefix, chunkSize: 1 })).rejects.toThrow('the input source broke');
    const [runId] = await client.zrange(runsIndexKey(prefix), '0', '0');
    // Not sealed: submitting the same run id again resumes it.
    expect((await readRunSnapshot(client, prefix, runId!))?.state).toBe('submitting');
  });
});
