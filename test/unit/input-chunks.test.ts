import { describe, expect, it } from 'vitest';
import {
  AUTO_CHUNK_MAX,
  AUTO_CHUNK_TARGET_TASKS,
  autoChunkSize,
  chunkItems,
  isRereadable,
  openSource,
  peekItemCount,
} from '../../producer/input-chunks.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function* stream<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function* range(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

describe('autoChunkSize', () => {
  it('gives one item per task up to 256 items', () => {
    for (const count of [0, 1, 2, 100, 255, 256]) expect(autoChunkSize(count), String(count)).toBe(1);
  });

  it('gives ceil(n / 256) items per task above 256 items', () => {
    expect(autoChunkSize(257)).toBe(2);
    expect(autoChunkSize(512)).toBe(2);
    expect(autoChunkSize(513)).toBe(3);
    expect(autoChunkSize(10_000)).toBe(40);
    expect(autoChunkSize(255_744)).toBe(999);
  });

  it('caps a chunk at 1000 items', () => {
    expect(autoChunkSize(256_000)).toBe(1000);
    expect(autoChunkSize(256_001)).toBe(1000);
    expect(autoChunkSize(10_000_000)).toBe(1000);
  });

  it('makes about 256 tasks until the cap', () => {
    expect(AUTO_CHUNK_TARGET_TASKS).toBe(256);
    expect(AUTO_CHUNK_MAX).toBe(1000);
    for (const count of [257, 1000, 5000, 100_000, 256_000]) {
      expect(Math.ceil(count / autoChunkSize(count))).toBeLessThanOrEqual(256);
      expect(Math.ceil(count / autoChunkSize(count))).toBeGreaterThan(128);
    }
  });
});

describe('chunkItems', () => {
  it('groups items into chunks of the size, numbering chunks and the first item of each', async () => {
    const chunks = await collect(chunkItems(stream(['a', 'b', 'c', 'd', 'e', 'f', 'g']), 3));
    expect(chunks).toEqual([
      { index: 0, firstItem: 0, items: ['a', 'b', 'c'] },
      { index: 1, firstItem: 3, items: ['d', 'e', 'f'] },
      { index: 2, firstItem: 6, items: ['g'] },
    ]);
  });

  it('makes no short last chunk when the items divide evenly', async () => {
    const chunks = await collect(chunkItems(stream(range(6)), 2));
    expect(chunks.map((chunk) => chunk.items)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2]);
  });

  it('makes one chunk per item for size 1', async () => {
    const chunks = await collect(chunkItems(stream(['x', 'y']), 1));
    expect(chunks).toEqual([
      { index: 0, firstItem: 0, items: ['x'] },
      { index: 1, firstItem: 1, items: ['y'] },
    ]);
  });

  it('makes no chunk for no items', async () => {
    expect(await collect(chunkItems(stream([]), 5))).toEqual([]);
  });

  it('keeps every item, in order, including null and undefined', async () => {
    const items = [null, undefined, 0, '', false, { a: 1 }];
    const chunks = await collect(chunkItems(stream(items), 4));
    expect(chunks.flatMap((chunk) => chunk.items)).toEqual(items);
  });
});

describe('openSource', () => {
  it('reads arrays, iterables, async iterables and functions the same way', async () => {
    expect(await collect(openSource([1, 2]))).toEqual([1, 2]);
    expect(await collect(openSource(new Set([1, 2])))).toEqual([1, 2]);
    expect(await collect(openSource(stream([1, 2])))).toEqual([1, 2]);
    expect(await collect(openSource(() => [1, 2]))).toEqual([1, 2]);
    expect(await collect(openSource(() => stream([1, 2])))).toEqual([1, 2]);
  });

  it('reads a function source afresh each time', async () => {
    const source = (): AsyncGenerator<number> => stream([1, 2, 3]);
    expect(await collect(openSource(source))).toEqual([1, 2, 3]);
    expect(await collect(openSource(source))).toEqual([1, 2, 3]);
  });
});

describe('isRereadable', () => {
  it('is true for arrays and functions, false for one-shot iterables', () => {
    expect(isRereadable([1])).toBe(true);
    expect(isRereadable(() => [1])).toBe(true);
    expect(isRereadable(stream([1]))).toBe(false);
    expect(isRereadable(range(2))).toBe(false);
  });
});

describe('peekItemCount', () => {
  it('counts a short stream completely and replays every item', async () => {
    const peeked = await peekItemCount(stream(['a', 'b', 'c']));
    expect(peeked.countAtLeast).toBe(3);
    expect(peeked.complete).toBe(true);
    expect(await collect(peeked.stream)).toEqual(['a', 'b', 'c']);
  });

  it('counts an empty stream as complete', async () => {
    const peeked = await peekItemCount(stream([]));
    expect(peeked).toMatchObject({ countAtLeast: 0, complete: true });
    expect(await collect(peeked.stream)).toEqual([]);
  });

  it('stops reading ahead once the chunk size cannot grow, and still replays everything', async () => {
    const total = AUTO_CHUNK_TARGET_TASKS * AUTO_CHUNK_MAX + 5;
    let produced = 0;
    const counting = async function* (): AsyncGenerator<number> {
      for (let i = 0; i < total; i++) {
        produced++;
        yield i;
      }
    };
    const peeked = await peekItemCount(counting());
    expect(peeked.complete).toBe(false);
    expect(peeked.countAtLeast).toBe(AUTO_CHUNK_TARGET_TASKS * AUTO_CHUNK_MAX);
    expect(produced).toBe(AUTO_CHUNK_TARGET_TASKS * AUTO_CHUNK_MAX);
    expect(autoChunkSize(peeked.countAtLeast)).toBe(AUTO_CHUNK_MAX);
    let count = 0;
    let inOrder = true;
    for await (const item of peeked.stream) {
      if (item !== count) inOrder = false;
      count++;
    }
    expect(count).toBe(total);
    expect(inOrder).toBe(true);
  });
});
