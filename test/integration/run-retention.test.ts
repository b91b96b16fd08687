/**
 * What an ended run leaves in Redis (shared/run/run-retention.ts). A cancelled run can never be
 * retried: its intermediate output (stored inputs, map output and its indexes, staged
 * output) goes at once. A failed run keeps it for `retry`, under the retention TTL. Either
 * way everything left expires after the run's retention.
 */
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import type { RunHandle, WorkerHandle } from '../../index.js';
import { activeRunsKey, runKeys, type RunKeys } from '../../shared/redis/redis-keys.js';
import wide from '../fixtures/jobs/wide-output.js';
import { commitByHand } from '../support/commit-by-hand.js';
import { it, type Runs } from '../support/fixtures.js';
import { keysMatching } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

/** Long enough that the checks after retirement run well within it on a loaded machine. */
const RETENTION_MS = 5000;
const fastSweep = { intervalMs: 200, reduceGraceMs: 500, stallMs: 60_000 };

/** The intermediate output of a run whose task c0 (one wide item, so staged) is committed by hand. */
function intermediateKeys(keys: RunKeys): string[] {
  return [keys.inputs, keys.stages, keys.mapStage('by-hand'), keys.outputIndex(0), keys.outputIndex(1)];
}

/** Submits a run of the wide job and commits its first task by hand: its output is staged and adopted. */
async function runWithStagedOutput(client: Redis, prefix: string, runs: Runs, inputs: number[]): Promise<RunHandle> {
  const run = await runs.submit(wide, inputs, { chunkSize: 1, attempts: 1, retention: RETENTION_MS });
  expect(await commitByHand(client, { prefix, job: wide, runId: run.id, taskId: 'c0', attemptId: 'by-hand' })).toMatchObject({
    outcome: 'committed',
  });
  const keys = runKeys(prefix, run.id);
  for (const key of intermediateKeys(keys)) expect(await client.exists(key), key).toBe(1);
  return run;
}

/** Waits until a sweep has retired the run: its last step takes the run out of the queue's active runs. */
async function retired(client: Redis, prefix: string, run: RunHandle, worker: WorkerHandle): Promise<void> {
  await waitFor('a sweep to retire the run', async () =>
    (await client.sismember(activeRunsKey(prefix, worker.queue), run.id)) === 0 ? true : undefined,
  );
}

/** Each key has a TTL no longer than the retention. */
async function expectRetentionTtl(client: Redis, names: string[]): Promise<void> {
  for (const key of names) {
    const ttl = await client.pttl(key);
    expect(ttl, key).toBeGreaterThan(0);
    expect(ttl, key).toBeLessThanOrEqual(RETENTION_MS);
  }
}

/** Every key of the run expires: waits past the TTL the run was given (with room for a loaded machine). */
async function expectAllExpire(client: Redis, keys: RunKeys, run: RunHandle): Promise<void> {
  await waitFor(
    'every key of the run to expire',
    async () => ((await keysMatching(client, keys.pattern)).length === 0 ? true : undefined),
    RETENTION_MS + 10_000,
  );
  expect((await run.status()).state).toBe('lost');
}

describe('an ended run', () => {
  it('cancelled: frees its intermediate output at once, and the rest expires after its retention', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const run = await runWithStagedOutput(client, prefix, runs, [0, 1, 2]);
    const keys = runKeys(prefix, run.id);
    await run.cancel();
    // Any worker of the job's queue retires an ended run in its sweep.
    const worker = await workers.start(wide, { sweep: fastSweep });
    await retired(client, prefix, run, worker);
    for (const key of intermediateKeys(keys)) expect(await client.exists(key), key).toBe(0);
    expect(await keysMatching(client, keys.mapStage('*'))).toEqual([]);
    await expectRetentionTtl(client, [keys.meta, keys.committed]);
    await expectAllExpire(client, keys, run);
  });

  it('cancelled with no worker serving its job: frees its intermediate output at once and starts its retention', async ({
    prefix,
    redis: client,
    runs,
  }) => {
    const run = await runWithStagedOutput(client, prefix, runs, [0, 1, 2]);
    const keys = runKeys(prefix, run.id);
    await run.cancel();
    for (const key of intermediateKeys(keys)) expect(await client.exists(key), key).toBe(0);
    await expectRetentionTtl(client, [keys.meta, keys.committed]);
  });

  it('failed: keeps its intermediate output for retry, under the retention TTL, and then expires whole', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const run = await runWithStagedOutput(client, prefix, runs, [0, -1]);
    const keys = runKeys(prefix, run.id);
    const worker = await workers.start(wide, { sweep: fastSweep });
    expect((await run.done()).state).toBe('failed');
    await retired(client, prefix, run, worker);
    expect(await client.hkeys(keys.inputs)).toEqual(['c1']);
    await expectRetentionTtl(client, [...intermediateKeys(keys), keys.meta, keys.failures]);
    await expectAllExpire(client, keys, run);
  });
});
