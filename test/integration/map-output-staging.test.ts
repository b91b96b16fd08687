/**
 * A task whose map output is over 512 KiB does not travel inside the commit script: it is
 * staged in a hash of its attempt first, and the commit adopts that hash. A second commit
 * of the same task (a duplicate attempt) discards its own staged copy, leaving no orphan.
 */
import { describe, expect } from 'vitest';
import { runKeys } from '../../shared/redis/redis-keys.js';
import wide from '../fixtures/jobs/wide-output.js';
import { wideOutputSums } from '../support/ground-truth.js';
import { commitByHand, mapStoredTask } from '../support/commit-by-hand.js';
import { collect, it } from '../support/fixtures.js';
import { keysMatching } from '../support/test-redis.js';

describe('a map output over 512 KiB', () => {
  it('is staged and adopted by its commit; a duplicate commit discards its own staged copy; the result is exact', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const inputs = [0, 1, 2];
    const run = await runs.submit(wide, inputs, { chunkSize: 1 });
    const keys = runKeys(prefix, run.id);
    const attempt = (attemptId: string) => ({ prefix, job: wide, runId: run.id, taskId: 'c0', attemptId });
    const mapped = await mapStoredTask(client, attempt('first'));
    const bytes = mapped.output.partitions.reduce((sum, pairs) => sum + JSON.stringify(pairs).length, 0);
    expect(bytes).toBeGreaterThan(512 * 1024);

    expect(await commitByHand(client, attempt('first'), mapped)).toEqual({ outcome: 'committed', generation: 1 });
    const adopted = keys.mapStage('first');
    // Adopted: listed with the run (to go with it), kept without the orphan TTL, and what the index points at.
    expect(await client.smembers(keys.stages)).toEqual([adopted]);
    expect(await client.pttl(adopted)).toBe(-1);
    for (const partition of [0, 1]) {
      const index = await client.lrange(keys.outputIndex(partition), 0, -1);
      expect(index.map((entry) => entry.split('|'))).toEqual([['c0', expect.stringMatching(/^[1-9]\d*$/), adopted]]);
    }
    expect(await client.exists(keys.output(0), keys.output(1))).toBe(0);

    expect(await commitByHand(client, attempt('second'), mapped)).toEqual({ outcome: 'settled', state: 'mapping' });
    expect(await keysMatching(client, keys.mapStage('*'))).toEqual([adopted]);
    expect(await client.smembers(keys.stages)).toEqual([adopted]);

    // Workers finish the run; the queued task of c0 is a duplicate too.
    const worker = await workers.start(wide);
    try {
      expect((await run.done()).state).toBe('done');
    } finally {
      await worker.close();
    }
    const results = await collect(run);
    expect(results).toEqual(wideOutputSums(inputs));
    expect((await run.status()).tasks).toMatchObject({ total: 3, committed: 3 });
    // A done run frees every staged output it adopted; nothing staged is left behind.
    expect(await keysMatching(client, keys.mapStage('*'))).toEqual([]);
  });
});
