/**
 * A reduce attempt stages its results in a list, batch by batch. A client whose connection
 * drops after Redis ran a write, but before the reply came, sends the write again on
 * reconnect (ioredis resends unanswered commands): the random fault mix caught a Redis
 * killed with `appendfsync always` leaving two partitions with their results twice. Staging
 * is therefore idempotent: sent twice, a write lands once.
 */
import { describe, expect } from 'vitest';
import { stageResultBatches } from '../../reducer/reduce-task-handler.js';
import { it } from '../support/fixtures.js';

describe('staging reduce results', () => {
  it('appends a write once however often it is sent, and refuses one that does not follow the list', async ({ redis: client, prefix }) => {
    const staged = `${prefix}:stage`;
    expect(await stageResultBatches(client, staged, 0, ['a', 'b'])).toBe(2);
    expect(await stageResultBatches(client, staged, 0, ['a', 'b'])).toBe(2); // the same write, resent
    expect(await stageResultBatches(client, staged, 2, ['c'])).toBe(3);
    expect(await stageResultBatches(client, staged, 2, ['c'])).toBe(3);
    expect(await client.lrange(staged, 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.pttl(staged)).toBeGreaterThan(0); // an attempt that dies leaves nothing for good
    await expect(stageResultBatches(client, staged, 1, ['x'])).rejects.toThrow(/STAGE_MISMATCH staged list holds 3 batches, expected 1/);
    expect(await client.llen(staged)).toBe(3);
  });
});
