/**
 * Reading a run's results: a merge of its partitions' sorted lists in UTF-8 byte order, handed
 * on in blocks. Enough keys for several pages per partition and several blocks, with keys whose
 * UTF-16 order is not their UTF-8 order (a surrogate pair against U+E000..U+FFFF).
 */
import { describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { readResultBlocks, type ResultEntry } from '../../reducer/read-results.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { collect, it } from '../support/fixtures.js';

const job = defineJob({
  name: 'read-results-keys',
  input: z.string(),
  map: (key) => [[key, key.length] as [string, number]],
  reduce: (_key, values: number[]) => values[0]!,
  partitions: 5,
});

/** 9,000 distinct keys: plain ones, and ones that differ first at a surrogate or at a unit from U+E000 up. */
const keys = Array.from({ length: 3000 }, (_, i) => [`k${i}`, `k\u{1F600}${i}`, `k\uE000${i}`]).flat();

/** The keys in UTF-8 byte order, computed apart from the code it checks. */
const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((key) => ({ key, value: key.length }));

describe('reading results', () => {
  it('merges the partitions in UTF-8 byte order, in blocks of at most 4096, every key once', async ({ prefix, redis, workers, runs }) => {
    await workers.start(job);
    const run = await runs.submit(job, keys, { chunkSize: 500 });
    expect((await run.done()).state).toBe('done');

    expect(await collect(run.results())).toEqual(expected);
    const record = (await readRunRecord(redis, prefix, run.id))!;
    const blocks: ResultEntry[][] = [];
    for await (const block of readResultBlocks(redis, prefix, run.id, record.generation, 5)) blocks.push(block);
    expect(blocks.length).toBeGreaterThan(2);
    expect(blocks.every((block) => block.length > 0 && block.length <= 4096)).toBe(true);
    expect(blocks.flat()).toEqual(expected);
  });
});
