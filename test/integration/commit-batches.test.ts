/**
 * Small commits of one run sent together (commit-map-tasks.lua): each task is decided as if
 * it committed alone, first commit wins, a batch sent again answers the same, and the one
 * that ends the map phase says so once.
 */
import { describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { enqueueDueReduceTasks } from '../../shared/run/reduce-trigger.js';
import { commitInlineOutputs, encodeOutput, type InlineCommit } from '../../worker/commit-map-output.js';
import { mapStoredTask } from '../support/commit-by-hand.js';
import { countWords } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';

const wordJob = defineJob({
  name: 'commit-batches-words',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 3,
});

const lines = Array.from({ length: 8 }, (_, i) => `w${i % 5} v${i % 3} shared`);

describe('batched map commits', () => {
  it('commit each task once, answer the same when sent again, and end the map phase once', async ({
    prefix,
    redis: client,
    queues,
    workers,
    runs,
  }) => {
    const run = await runs.submit(wordJob, lines, { chunkSize: 2 });
    const record = (await readRunRecord(client, prefix, run.id))!;
    const commitOf = async (taskId: string, attemptId: string): Promise<InlineCommit> => {
      const { items, output } = await mapStoredTask(client, { prefix, job: wordJob, runId: run.id, taskId, attemptId });
      return { generation: 1, taskId, attemptId, itemCount: items.length, encoded: encodeOutput(output) };
    };
    const send = (commits: InlineCommit[]) => commitInlineOutputs(client, prefix, record, 0, commits);

    const c0 = await commitOf('c0', 'a0');
    const c1 = await commitOf('c1', 'a1');
    const first = [c0, c1, { ...c0, attemptId: 'a0-again' }, { ...c1, generation: 2, attemptId: 'a1-stale' }];
    const expected = [
      { outcome: 'committed', generation: 1 },
      { outcome: 'committed', generation: 1 },
      { outcome: 'settled', state: 'mapping' },
      { outcome: 'inactive', state: 'mapping' },
    ];
    expect(await send(first)).toEqual(expected);
    // Sent again (a resend after a reconnect): the same answers, nothing counted twice.
    expect(await send(first)).toEqual(expected);
    expect((await readRunRecord(client, prefix, run.id))?.mapCommits).toBe(2);

    const last = [await commitOf('c2', 'a2'), await commitOf('c3', 'a3')];
    const ending = [
      { outcome: 'committed', generation: 1 },
      { outcome: 'flipped', generation: 1 },
    ];
    expect(await send(last)).toEqual(ending);
    expect(await send(last)).toEqual(ending);
    const after = await readRunRecord(client, prefix, run.id);
    expect(after?.state).toBe('reducing');
    expect(after?.mapCommits).toBe(4);
    expect(after?.itemsDone).toBe(8);
    expect(await client.hlen(runKeys(prefix, run.id).inputs)).toBe(0);

    // As the worker whose commit flipped the run would: enqueue its reduce tasks. The result is exact.
    await enqueueDueReduceTasks(client, queues, prefix, record);
    await workers.start(wordJob);
    expect((await run.done()).state).toBe('done');
    expect(await collect(run.results())).toEqual(countWords(lines));
  });
});
