import { describe, expect, it } from 'vitest';
import { defineJob, runLocally, z } from '../../index.js';
import { InputError, InvalidOptionError } from '../../shared/errors.js';

const lines = [
  'the quick brown fox',
  'jumps over the lazy dog',
  'The dog barks',
  'über straße naïve 😀',
  'the end',
  'dog dog dog',
  'fox',
  '😀 😀',
];

function expectedCounts(input: string[]): Array<{ key: string; value: number }> {
  const counts = new Map<string, number>();
  for (const line of input) for (const word of line.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts].map(([key, value]) => ({ key, value })).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

const wordCount = defineJob<string, number, number>({
  name: 'word-count',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as const),
  combine: (a, b) => a + b,
  reduce: (_key, values) => values.reduce((a, b) => a + b, 0),
  partitions: 3,
});

/** Order-sensitive, without combine: the result shows the order values reached reduce. */
const joinInOrder = defineJob({
  name: 'join-in-order',
  input: z.object({ index: z.number(), word: z.string() }),
  map: ({ index, word }) => [
    [word.length % 2 === 0 ? 'even' : 'odd', index],
    ['all', index],
  ],
  reduce: (_key, values: number[]) => values.join(','),
  partitions: 2,
});

describe('runLocally', () => {
  it('counts words like a word count should', async () => {
    expect(await runLocally(wordCount, lines)).toEqual(expectedCounts(lines));
  });

  it('returns results sorted by key in UTF-8 byte order', async () => {
    const results = await runLocally(wordCount, lines);
    const keys = results.map((entry) => entry.key);
    expect(keys).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(keys.indexOf('The')).toBeLessThan(keys.indexOf('the'));
    expect(keys.at(-1)).toBe('😀');
  });

  it('gives the same result for chunk sizes 1, 3 and auto, and for 1 or 7 partitions', async () => {
    const expected = expectedCounts(lines);
    for (const chunkSize of [1, 3, 'auto'] as const) {
      for (const partitions of [1, 7]) {
        expect(await runLocally(wordCount, lines, { chunkSize, partitions }), `chunkSize ${chunkSize}, ${partitions} partitions`).toEqual(
          expected,
        );
      }
    }
  });

  it('hands values to reduce in input order when the job does not combine, whatever the chunk size', async () => {
    const words = ['a', 'bb', 'ccc', 'dd', 'e', 'ffff', 'gg', 'h', 'iii', 'jj'];
    const items = words.map((word, index) => ({ index, word }));
    const expected = [
      { key: 'all', value: '0,1,2,3,4,5,6,7,8,9' },
      { key: 'even', value: '1,3,5,6,9' },
      { key: 'odd', value: '0,2,4,7,8' },
    ];
    for (const chunkSize of [1, 3, 'auto'] as const) {
      expect(await runLocally(joinInOrder, items, { chunkSize }), `chunkSize ${chunkSize}`).toEqual(expected);
    }
  });

  it('keeps input order with several items mapped at once', async () => {
    const concurrent = defineJob({
      name: 'concurrent-join',
      input: z.number(),
      itemConcurrency: 4,
      map: async (index) => {
        await new Promise((resolve) => setTimeout(resolve, (10 - index) * 2));
        return [['k', index] as const];
      },
      reduce: (_key, values: number[]) => values.join(','),
    });
    const items = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(await runLocally(concurrent, items, { chunkSize: 5 })).toEqual([{ key: 'k', value: '0,1,2,3,4,5,6,7,8,9' }]);
  });

  it('reads items from an iterable, an async iterable and a function', async () => {
    const expected = expectedCounts(lines);
    expect(await runLocally(wordCount, new Set(lines))).toEqual(expected);
    expect(
      await runLocally(
        wordCount,
        (async function* () {
          yield* lines;
        })(),
      ),
    ).toEqual(expected);
    expect(await runLocally(wordCount, () => lines.values())).toEqual(expected);
  });

  it('gives no results for no input', async () => {
    expect(await runLocally(wordCount, [])).toEqual([]);
  });

  it('refuses an item the schema rejects, naming its index, before mapping anything', async () => {
    let mapped = 0;
    const strict = defineJob({
      name: 'strict',
      input: z.string(),
      map: (line) => {
        mapped++;
        return [[line, 1] as const];
      },
      reduce: (_key, values) => values.length,
    });
    const promise = runLocally(strict, ['ok', 'fine', 3 as unknown as string]);
    await expect(promise).rejects.toBeInstanceOf(InputError);
    await expect(promise).rejects.toMatchObject({ index: 2 });
    expect(mapped).toBe(0);
  });

  it('passes values through JSON, as a distributed run does', async () => {
    const shapes = defineJob({
      name: 'shapes',
      input: z.unknown(),
      map: () => [['k', { nested: [1, { deep: 'x' }] }] as const],
      reduce: (_key, values) => values,
    });
    expect(await runLocally(shapes, [1, 2])).toEqual([
      {
        key: 'k',
        value: [{ nested: [1, { deep: 'x' }] }, { nested: [1, { deep: 'x' }] }],
      },
    ]);
  });

  it('refuses an invalid chunk size with an InvalidOptionError', async () => {
    await expect(runLocally(wordCount, lines, { chunkSize: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
  });
});
