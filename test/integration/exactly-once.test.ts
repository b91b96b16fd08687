/**
 * At-least-once delivery, exactly-once effect: a task committed twice counts once, a
 * worker killed right after its commit changes nothing, and a partition is reduced once
 * per generation even when its reduce task comes back after BullMQ forgot its id.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { commitMapOutput } from '../../worker/commit-map-output.js';
import { mapItems } from '../../worker/map-task.js';
import { reduceTaskQueueId, runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord, readRunSnapshot } from '../../shared/run/run-record.js';
import { addReduceTasks } from '../../shared/tasks/task-queue.js';
import { runCli } from '../support/cli.js';
import { countWords, firstLetterCountLines } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

let reduceCalls = 0;
const countingJob = defineJob({
  name: 'exactly-once-count',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => {
    reduceCalls++;
    return values.reduce((a, b) => a + b, 0);
  },
  partitions: 2,
});

const inputs = Array.from({ length: 60 }, (_, i) => `alpha beta w${i % 9} gamma${i % 4}`);

describe('exactly-once effect', () => {
  it('counts a map task committed twice once', async ({ prefix, redis: client, runs }) => {
    const run = await runs.submit(countingJob, inputs, { chunkSize: 10 });
    const keys = runKeys(prefix, run.id);
    const items = JSON.parse((await client.hget(keys.inputs, 'c0'))!) as string[];
    const output = await mapItems({
      job: countingJob,
      items,
      partitions: 2,
      callTimeoutMs: 10_000,
      signal: new AbortController().signal,
      runId: run.id,
      taskId: 'c0',
      attempt: 1,
      logFor: () => console as never,
    });
    const record = (await readRunRecord(client, prefix, run.id))!;
    const commit = (attemptId: string) =>
      commitMapOutput({
        client,
        prefix,
        run: record,
        generation: 1,
        taskId: 'c0',
        attemptId,
        itemCount: items.length,
        output,
        minReplicas: 0,
      });
    expect((await commit('attempt-1')).outcome).toBe('committed');
    expect(await commit('attempt-2')).toEqual({ outcome: 'settled', state: 'mapping' });
    const snapshot = await readRunSnapshot(client, prefix, run.id);
    expect(snapshot?.committedTasks).toBe(1);
    expect(snapshot?.itemsDone).toBe(10);
    for (const partition of [0, 1]) {
      const index = await client.lrange(keys.outputIndex(partition), 0, -1);
      expect(index.filter((entry) => entry.startsWith('c0|'))).toHaveLength(1);
    }
    expect(await client.hexists(keys.inputs, 'c0')).toBe(0);
  });

  it('counts once the task of a worker killed right after its commit', async ({ prefix, redis: client }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-once-'));
    const log = join(dir, 'calls.log');
    const lines = Array.from({ length: 12 }, (_, i) => `item-${i}`);
    writeFileSync(join(dir, 'inputs.txt'), `${lines.join('\n')}\n`);
    const result = await runCli(
      [
        'run',
        'test/fixtures/jobs/logged-map.ts',
        '--input-file',
        join(dir, 'inputs.txt'),
        '--workers',
        '2',
        '--chunk-size',
        '2',
        '--lock-duration',
        '2s',
        '--stalled-interval',
        '500ms',
        '--prefix',
        prefix,
      ],
      { env: { REDIS_URL: redisUrl(), REDMAP_FAILPOINTS: 'after-map-commit=c2', REDMAP_TEST_LOG: log } },
    );
    expect(result.stderr).not.toMatch(/"level":50/);
    expect(result.code).toBe(0);
    // The fault happened: c2's worker died after committing and was replaced.
    expect(result.stderr).toMatch(/worker process died; starting a replacement/);
    // BullMQ gave c2 (items 4 and 5) to another worker once its lock expired; that attempt found
    // the task committed and did nothing: every item was mapped exactly once.
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { item: string; pid: number });
    expect(calls.map((call) => call.item).sort()).toEqual([...lines].sort());
    expect(result.stdout).toBe(firstLetterCountLines(lines));
    const runId = (await client.zrange(`${prefix}:runs`, '0', '0'))[0]!;
    const snapshot = await readRunSnapshot(client, prefix, runId);
    expect(snapshot?.committedTasks).toBe(6);
    expect(snapshot?.itemsDone).toBe(12);
  });

  it('reduces a partition once even when its reduce task is enqueued again after removal', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    await workers.start(countingJob);
    const run = await runs.submit(countingJob, inputs, { chunkSize: 10 });
    reduceCalls = 0;
    expect((await run.done()).state).toBe('done');
    const callsAfterRun = reduceCalls;
    expect(callsAfterRun).toBe(15); // one per key
    const before = await collect(run);

    const record = (await readRunRecord(client, prefix, run.id))!;
    const queue = queues.get(record.queue);
    // BullMQ removed the finished reduce tasks, so the same ids are new tasks to it.
    await addReduceTasks(queues, record, record.generation, [0, 1]);
    // A finished task is removed (or failed): its handler, in this process, has returned.
    const sentAgain = [0, 1].map((partition) => reduceTaskQueueId(record, record.generation, partition));
    await waitFor(
      'the reduce tasks sent again to finish',
      async () => {
        const states = await Promise.all(sentAgain.map((id) => queue.getJobState(id)));
        return states.every((state) => state === 'unknown' || state === 'completed' || state === 'failed');
      },
      10_000,
    );
    expect(reduceCalls).toBe(callsAfterRun);
    const after = await collect(run);
    expect(after).toEqual(before);
    expect(after).toEqual(countWords(inputs));
    expect(await client.smembers(runKeys(prefix, run.id).reduced(1))).toHaveLength(2);
  });
});
