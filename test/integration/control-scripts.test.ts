/**
 * The control scripts under the two hazards a client cannot see: a call that runs twice
 * (ioredis resends a command whose reply a reconnect lost, with the same arguments) must
 * answer the same and change nothing more; and a call of an earlier generation (an attempt
 * still running when its run was retried) must leave the new generation alone.
 */
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { defineJob, NonRetryableError, z } from '../../index.js';
import { loadLuaScript, replyStrings, runScript, type LuaScript } from '../../shared/redis/lua-scripts.js';
import { jobLimiterKeys, runKeys } from '../../shared/redis/redis-keys.js';
import { failRun, retryRun } from '../../shared/run/run-control.js';
import { recordTaskFailure } from '../../shared/run/run-failures.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { commitByHand, mapStoredTask } from '../support/commit-by-hand.js';
import { it } from '../support/fixtures.js';

const script = (path: string): LuaScript => loadLuaScript(new URL(`../../${path}`, import.meta.url));
const sealRunScript = script('producer/seal-run.lua');
const cancelRunScript = script('shared/run/cancel-run.lua');
const retryRunScript = script('shared/run/retry-run.lua');
const failRunScript = script('shared/run/fail-run.lua');
const createRunScript = script('producer/create-run.lua');

let poisoned = true;
const job = defineJob({
  name: 'control-scripts',
  input: z.string(),
  map(line) {
    if (line === 'poison' && poisoned) throw new NonRetryableError('poison');
    return line.split(' ').map((word) => [word, 1] as [string, number]);
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

/** Runs a script twice with the same arguments, as a resend does; returns both replies. */
async function twice(client: Redis, lua: LuaScript, keys: string[], args: Array<string | number>) {
  const first = replyStrings(await runScript(client, lua, keys, args));
  const second = replyStrings(await runScript(client, lua, keys, args));
  return { first, second };
}

describe('control scripts sent twice', () => {
  it('create, seal, commit, cancel and fail-run answer the same and change nothing more', async ({ prefix, redis: client }) => {
    const keys = runKeys(prefix, 'resent');
    const created = await twice(client, createRunScript, [keys.meta], ['control-scripts', 'fp', 'inc-1', 'queue', 'q', 'chunkSize', 1]);
    expect(created).toEqual({ first: ['created'], second: ['created'] });
    // Another create of the same id (another incarnation) is told the run exists.
    expect(replyStrings(await runScript(client, createRunScript, [keys.meta], ['control-scripts', 'fp', 'inc-2']))).toEqual([
      'resumed',
      '1',
      '',
      'inc-1',
    ]);

    await client.hset(keys.inputs, 'c0', '["a"]', 'c1', '["b"]');
    const sealed = await twice(client, sealRunScript, [keys.meta, keys.committed, keys.failed, keys.replies], ['inc-1', 'seal-1', 2, 2]);
    expect(sealed).toEqual({ first: ['sealed'], second: ['sealed'] });
    const sealedAt = await client.hget(keys.meta, 'sealedAt');

    const cancelled = await twice(client, cancelRunScript, [keys.meta, keys.replies], ['cancel-1']);
    expect(cancelled).toEqual({ first: ['cancelled', 'mapping'], second: ['cancelled', 'mapping'] });
    // A new call (another request id) sees the run as it is now.
    expect(replyStrings(await runScript(client, cancelRunScript, [keys.meta, keys.replies], ['cancel-2']))).toEqual([
      'unchanged',
      'cancelled',
    ]);
    expect(await client.hget(keys.meta, 'sealedAt')).toBe(sealedAt);
  });

  it('a commit sent twice counts its items and its output once, and answers "committed" both times', async ({
    prefix,
    redis: client,
    runs,
  }) => {
    const run = await runs.submit(job, ['a b', 'b c', 'c d'], { chunkSize: 1 });
    const attempt = { prefix, job, runId: run.id, taskId: 'c1', attemptId: 'attempt-1' };
    const mapped = await mapStoredTask(client, attempt);
    expect(await commitByHand(client, attempt, mapped)).toEqual({ outcome: 'committed', generation: 1 });
    expect(await commitByHand(client, attempt, mapped)).toEqual({ outcome: 'committed', generation: 1 });
    // Another attempt's commit of the same task is a duplicate.
    expect(await commitByHand(client, { ...attempt, attemptId: 'attempt-2' }, mapped)).toEqual({ outcome: 'settled', state: 'mapping' });
    const record = await readRunRecord(client, prefix, run.id);
    expect(record?.itemsDone).toBe(1);
    expect(record?.mapCommits).toBe(1);
    const keys = runKeys(prefix, run.id);
    const indexed = [...(await client.lrange(keys.outputIndex(0), 0, -1)), ...(await client.lrange(keys.outputIndex(1), 0, -1))];
    expect(indexed.filter((entry) => entry.startsWith('c1|'))).toHaveLength(2); // one per partition it has keys in
  });

  it('retry and fail-run sent twice move the run once', async ({ prefix, redis: client, workers, runs }) => {
    poisoned = true;
    const worker = await workers.start(job);
    const run = await runs.submit(job, ['a b', 'poison'], { chunkSize: 1, attempts: 1, maxFailedTasks: 1 });
    const keys = runKeys(prefix, run.id);
    expect((await run.done()).state).toBe('done_with_failures');
    await worker.close();
    const retried = await twice(client, retryRunScript, [keys.meta, keys.committed, keys.failed, keys.replies, keys.stages], ['retry-1']);
    expect(retried).toEqual({ first: ['retried', '2'], second: ['retried', '2'] });
    expect((await readRunRecord(client, prefix, run.id))?.generation).toBe(2);
    const record = (await readRunRecord(client, prefix, run.id))!;
    const failed = await twice(client, failRunScript, [keys.meta, keys.replies], [record.incarnation, 2, 'fail-1', 'stop']);
    expect(failed).toEqual({ first: ['failed'], second: ['failed'] });
    const finishedAt = await client.hget(keys.meta, 'finishedAt');
    expect(replyStrings(await runScript(client, failRunScript, [keys.meta, keys.replies], [record.incarnation, 2, 'fail-2', 'x']))).toEqual(
      ['unchanged', 'failed'],
    );
    expect(await client.hget(keys.meta, 'finishedAt')).toBe(finishedAt);
  });
});

describe("the limiter's admission sent twice", () => {
  it('admits its own lease again instead of refusing it, so no lease is left held by nobody', async ({ prefix, redis: client }) => {
    const scope = jobLimiterKeys(prefix, 'resent-admission');
    const acquire = script('worker/limits/acquire-slot.lua');
    await client.hset(scope.limits, 'concurrency', 1);
    const keys = [scope.limits, scope.slots, scope.bucket, scope.starts];
    const admitted = await twice(client, acquire, keys, ['lease-1', 10_000]);
    expect(admitted.first[0]).toBe('1');
    expect(admitted.second[0]).toBe('1');
    expect(await client.zrange(scope.slots, '0', '-1')).toEqual(['lease-1']);
    // Another call is refused: the cap of 1 is held once, by lease-1.
    expect(replyStrings(await runScript(client, acquire, keys, ['lease-2', 10_000]))[0]).toBe('0');
  });
});

describe('a call of an earlier generation', () => {
  it('cannot record a failure in, split a chunk of, or fail a retried run', async ({ prefix, redis: client, queues, workers, runs }) => {
    poisoned = true;
    const worker = await workers.start(job);
    const run = await runs.submit(job, ['a b', 'poison', 'c d e'], {
      chunkSize: 1,
      attempts: 1,
      maxFailedTasks: 1,
    });
    const keys = runKeys(prefix, run.id);
    expect((await run.done()).state).toBe('done_with_failures');
    // Generation 2 maps "poison" again; no worker runs meanwhile, so it stays pending.
    await worker.close();
    await retryRun(client, queues, prefix, run.id);
    const record = (await readRunRecord(client, prefix, run.id))!;
    expect(record.state).toBe('mapping');
    const report = {
      task: 'c1',
      generation: 1,
      items: ['poison'],
      error: 'an attempt of generation 1, late',
      code: null,
      stack: null,
      attempts: 1,
      stalls: 0,
      host: 'h',
      pid: 1,
      at: Date.now(),
    };
    expect(await recordTaskFailure(client, prefix, record, 1, 'fail-g1', report)).toEqual({ outcome: 'inactive', state: 'mapping' });
    expect(await client.scard(keys.failed)).toBe(0);
    const split = script('worker/split-chunk.lua');
    expect(
      replyStrings(
        await runScript(client, split, [keys.meta, keys.inputs, keys.split, keys.failed], [record.incarnation, 1, 'c1', '["poison"]']),
      ),
    ).toEqual(['inactive', 'mapping']);
    expect(await failRun(client, prefix, record, 1, 'a reduce of generation 1 failing late')).toBe(false);
    expect((await readRunRecord(client, prefix, run.id))?.state).toBe('mapping');
    // The same calls of the current generation do act.
    expect(await recordTaskFailure(client, prefix, record, 2, 'fail-g2', { ...report, generation: 2 })).toEqual({
      outcome: 'flipped',
      generation: 2,
    });
  });
});

describe('the reduce mark', () => {
  // Seen in the failover soak: a worker read `reducing` on the old primary, and its reduce tasks
  // and this mark reached the promoted replica, where the flip was lost and the run still
  // mapped. The reduce tasks were skipped there; had the mark stayed, the real flip later would
  // have enqueued nothing, leaving the run reducing with no reduce task until the sweep's stall timer.
  it('is refused while the run maps, so the flip that comes later enqueues the reduce tasks', async ({ prefix, redis: client }) => {
    const keys = runKeys(prefix, 'mark-while-mapping');
    const markScript = script('shared/run/mark-reduce-enqueued.lua');
    await runScript(client, createRunScript, [keys.meta], ['control-scripts', 'fp', 'inc-1', 'queue', 'q', 'chunkSize', 1]);
    await client.hset(keys.inputs, 'c0', '["a"]');
    await runScript(client, sealRunScript, [keys.meta, keys.committed, keys.failed, keys.replies], ['inc-1', 'seal-m', 1, 1]);
    expect(await client.hget(keys.meta, 'state')).toBe('mapping');
    expect(await runScript(client, markScript, [keys.meta], ['inc-1', 1])).toBe(0);
    expect(await client.hget(keys.meta, 'reduceEnqueued')).toBeNull();
    await client.hset(keys.meta, 'state', 'reducing');
    expect(await runScript(client, markScript, [keys.meta], ['inc-1', 1])).toBe(1);
    expect(await client.hget(keys.meta, 'reduceEnqueued')).toBe('1');
  });
});
