/**
 * The reducer reads a partition's committed output in task order, whichever way each task
 * committed: inline batches in the partition's output hash, or a staged hash its commit
 * adopted. Reads of one hash in a row go out together, so the order and the hash each batch
 * came from must survive the grouping.
 */
import { describe, expect } from 'vitest';
import { readPartition } from '../../reducer/read-partition.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { it } from '../support/fixtures.js';

describe('reading a partition', () => {
  it('gives each key its values in task order, across inline and staged commits and more batches than one read takes', async ({
    redis: client,
    prefix,
  }) => {
    const keys = runKeys(prefix, 'read-order');
    const partition = 1;
    const expected: number[] = [];
    const index: string[] = [];
    // 150 tasks: every tenth staged in a hash of its own with two batches, the others inline
    // with one, so inline runs are cut by staged ones and span more than one read.
    for (let task = 0; task < 150; task++) {
      if (task % 10 === 3) {
        const staged = `${prefix}:stage:${task}`;
        await client.hset(
          staged,
          `${partition}#0`,
          JSON.stringify([['k', task * 10]]),
          `${partition}#1`,
          JSON.stringify([['k', task * 10 + 1]]),
        );
        index.push(`c${task}|2|${staged}`);
        expected.push(task * 10, task * 10 + 1);
      } else {
        await client.hset(keys.output(partition), `c${task}#0`, JSON.stringify([['k', task * 10]]));
        index.push(`c${task}|1|`);
        expected.push(task * 10);
      }
    }
    // The index lists commits in the order they landed, not in task order.
    await client.rpush(keys.outputIndex(partition), ...index.reverse());

    const groups = await readPartition(client, prefix, 'read-order', partition, undefined, new AbortController().signal);
    expect([...groups.groups()]).toEqual([['k', expected]]);
  });

  it('names the batch that is missing', async ({ redis: client, prefix }) => {
    const keys = runKeys(prefix, 'read-missing');
    await client.hset(keys.output(0), 'c0#0', JSON.stringify([['k', 1]]));
    await client.rpush(keys.outputIndex(0), 'c0|1|', 'c1|1|');
    await expect(readPartition(client, prefix, 'read-missing', 0, undefined, new AbortController().signal)).rejects.toThrow(
      `committed output ${keys.output(0)} c1#0 is missing`,
    );
  });
});
