/**
 * A run id used again, and a run brought back by `retry`, are live runs in every way: no
 * worker applies what it remembers of an earlier incarnation, and nothing of the retried
 * run expires under the retention clock its first ending started.
 */
import { describe, expect } from 'vitest';
import { defineJob, NonRetryableError, z } from '../../index.js';
import { activeRunsKey, runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { cleanRun } from '../../shared/run/run-retention.js';
import { retryRun } from '../../shared/run/run-control.js';
import { collect, it } from '../support/fixtures.js';
import { keysMatching } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';
import { countWords } from '../support/ground-truth.js';

const wordJob = defineJob({
  name: 'incarnation-words',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

const lines = Array.from({ length: 40 }, (_, i) => `w${i % 13} v${i % 7} shared`);

describe('run incarnations', () => {
  it('a reused run id with other partitions, on one long-lived worker, is mapped and reduced with its own options', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const worker = await workers.start(wordJob);
    for (const partitions of [2, 4, 1, 3]) {
      const run = await runs.submit(wordJob, lines, { runId: 'nightly', partitions, chunkSize: 5 });
      try {
        const status = await run.done();
        expect(status.state, `run with ${partitions} partitions`).toBe('done');
        expect(await collect(run.results()), `run with ${partitions} partitions`).toEqual(countWords(lines));
        const record = await readRunRecord(client, prefix, 'nightly');
        expect(record?.options.partitions).toBe(partitions);
        expect(record?.reduceCommits).toBe(partitions);
        // The worker that flipped the run records its reduce tasks as enqueued (it may do so
        // after they ran), well before the sweep's 10 s grace would.
        await waitFor(
          'the reduce tasks recorded as enqueued',
          async () => (await readRunRecord(client, prefix, 'nightly'))?.reduceEnqueued === 1,
          5000,
        );
      } finally {
        await run.close();
      }
      await cleanRun(client, queues, prefix, 'nightly', worker.queue);
    }
  });

  it('a retried run outlives the retention its first ending started, and gets its retention anew when it ends', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    // First generation: the item "odd" fails for good. Second: it is slow, and waits for the test.
    let generation = 1;
    let slowCallStarted!: () => void;
    const slowCall = new Promise<void>((resolve) => (slowCallStarted = resolve));
    let finishSlowCall!: () => void;
    const slowCallMayFinish = new Promise<void>((resolve) => (finishSlowCall = resolve));
    const job = defineJob({
      name: 'retry-retention',
      input: z.string(),
      async map(line) {
        if (line === 'odd') {
          if (generation === 1) throw new NonRetryableError('odd fails the first time');
          slowCallStarted();
          await slowCallMayFinish;
        }
        return line.split(' ').map((word) => [word, 1] as [string, number]);
      },
      combine: (a: number, b: number) => a + b,
      reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
      partitions: 2,
    });
    const inputs = [...lines.slice(0, 9), 'odd'];
    const worker = await workers.start(job);
    const run = await runs.submit(job, inputs, { chunkSize: 1, attempts: 1, maxFailedTasks: 1, retention: '5s' });
    try {
      expect((await run.done()).state).toBe('done_with_failures');
      const keys = runKeys(prefix, run.id);
      // The end is announced by the commit; the retention TTL is set just after it.
      await waitFor('the ended run to get its retention', async () => (await client.pttl(keys.meta)) > 0, 5000);
      expect(await client.pttl(keys.meta)).toBeGreaterThan(0);

      generation = 2;
      await retryRun(client, queues, prefix, run.id);
      await slowCall;
      // Mapping again: nothing of the run may carry the old retention clock.
      const withTtl: string[] = [];
      for (const key of await keysMatching(client, keys.pattern)) if ((await client.pttl(key)) !== -1) withTtl.push(key);
      expect(withTtl).toEqual([]);
      expect(await client.sismember(activeRunsKey(prefix, worker.queue), run.id)).toBe(1);
      expect((await readRunRecord(client, prefix, run.id))?.state).toBe('mapping');

      finishSlowCall();
      expect((await run.done()).state).toBe('done');
      expect(await collect(run.results())).toEqual(countWords(inputs));
      const ttl = await client.pttl(keys.meta);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    } finally {
      finishSlowCall();
    }
  });
});
