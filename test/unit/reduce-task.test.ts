import { describe, expect, it } from 'vitest';
import { defineJob, z } from '../../index.js';
import type { Job, ReduceContext } from '../../index.js';
import { MapOutputError } from '../../shared/errors.js';
import { KeyGroups } from '../../shared/data/key-groups.js';
import { reduceGroups } from '../../reducer/reduce-task.js';
import { randomStrings, WELL_FORMED_RANGES } from './random-strings.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function context(signal = new AbortController().signal): ReduceContext {
  return { runId: 'run-1', partition: 0, taskId: 'r0', attempt: 1, signal, log: silent };
}

function job(reduce: (key: string, values: unknown[], ctx: ReduceContext) => unknown, combine?: (a: unknown, b: unknown) => unknown): Job {
  return defineJob({ name: 'reduce-test', input: z.unknown(), map: () => [], reduce, ...(combine && { combine }) }) as Job;
}

function groupsOf(pairs: Array<[string, unknown]>, combine?: (a: unknown, b: unknown) => unknown): KeyGroups {
  const groups = new KeyGroups(combine);
  for (const [key, value] of pairs) groups.add(key, value);
  return groups;
}

async function collect(iterable: AsyncIterable<[string, unknown]>): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  for await (const pair of iterable) out.push(pair);
  return out;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('reduceGroups', () => {
  it('yields keys in UTF-8 byte order, whatever order they arrived in', async () => {
    const keys = ['b', 'a', '😀', '\ue000', 'B', 'é', '', 'ab', '日本'];
    const results = await collect(
      reduceGroups(
        job((key) => key.length),
        groupsOf(keys.map((key) => [key, 1])),
        context(),
      ),
    );
    expect(results.map(([key]) => key)).toEqual([...keys].sort(byteOrder));
    expect(results.map(([key]) => key)).toEqual(['', 'B', 'a', 'ab', 'b', 'é', '日本', '\ue000', '😀']);
  });

  it('orders many random keys by their UTF-8 bytes', async () => {
    const keys = [...new Set(randomStrings(40, 500, WELL_FORMED_RANGES, 5))];
    const results = await collect(
      reduceGroups(
        job(() => 0),
        groupsOf(keys.map((key) => [key, 1])),
        context(),
      ),
    );
    expect(results.map(([key]) => key)).toEqual([...keys].sort(byteOrder));
  });

  it('calls reduce once per key with every value of the key in arrival order', async () => {
    const calls: Array<[string, unknown[]]> = [];
    const recording = job((key, values) => {
      calls.push([key, [...values]]);
      return values.length;
    });
    const groups = groupsOf([
      ['x', 1],
      ['y', 2],
      ['x', 3],
      ['x', 4],
    ]);
    const results = await collect(reduceGroups(recording, groups, context()));
    expect(calls).toEqual([
      ['x', [1, 3, 4]],
      ['y', [2]],
    ]);
    expect(results).toEqual([
      ['x', 3],
      ['y', 1],
    ]);
  });

  it('gives reduce the one pre-combined value of a key when the job combines', async () => {
    const sum = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
    const calls: unknown[][] = [];
    const summing = job((_key, values) => {
      calls.push(values);
      return values.reduce(sum);
    }, sum);
    const groups = groupsOf(
      [
        ['a', 1],
        ['a', 2],
        ['b', 5],
      ],
      sum,
    );
    expect(await collect(reduceGroups(summing, groups, context()))).toEqual([
      ['a', 3],
      ['b', 5],
    ]);
    expect(calls).toEqual([[3], [5]]);
  });

  it('awaits an async reduce', async () => {
    const asyncReduce = job(async (key) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return `${key}!`;
    });
    expect(await collect(reduceGroups(asyncReduce, groupsOf([['k', 1]]), context()))).toEqual([['k', 'k!']]);
  });

  it('passes the reduce context through', async () => {
    let seen: ReduceContext | undefined;
    const ctx = context();
    await collect(
      reduceGroups(
        job((_key, _values, given) => {
          seen = given;
          return 1;
        }),
        groupsOf([['k', 1]]),
        ctx,
      ),
    );
    expect(seen).toBe(ctx);
  });

  it('frees each key as it is reduced', async () => {
    const groups = groupsOf([
      ['a', 1],
      ['b', 2],
    ]);
    await collect(
      reduceGroups(
        job(() => 1),
        groups,
        context(),
      ),
    );
    expect(groups.size).toBe(0);
  });

  it.each([
    ['undefined', undefined, 'result is undefined'],
    ['NaN', NaN, 'result is NaN'],
    ['a Date', new Date(0), 'result is a Date'],
    ['an object holding a function', { f: () => 1 }, 'result.f is a function'],
  ])('refuses a result of %s, naming the job and the key', async (_, result, problem) => {
    const bad = job((key) => (key === 'bad-key' ? result : 1));
    const promise = collect(reduceGroups(bad, groupsOf([['bad-key', 1]]), context()));
    await expect(promise).rejects.toBeInstanceOf(MapOutputError);
    await expect(promise).rejects.toThrow(
      `job "reduce-test": reduce returned a result for key "bad-key" that cannot be stored: ${problem}`,
    );
  });

  it('accepts null as a result', async () => {
    expect(
      await collect(
        reduceGroups(
          job(() => null),
          groupsOf([['k', 1]]),
          context(),
        ),
      ),
    ).toEqual([['k', null]]);
  });

  it('stops before the next key once the signal aborts', async () => {
    const controller = new AbortController();
    const reduced: string[] = [];
    const stopping = job((key) => {
      reduced.push(key);
      controller.abort(new Error('cancelled'));
      return 1;
    });
    const groups = groupsOf([
      ['a', 1],
      ['b', 1],
    ]);
    await expect(collect(reduceGroups(stopping, groups, context(controller.signal)))).rejects.toThrow('cancelled');
    expect(reduced).toEqual(['a']);
  });
});
