import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defineJob, z } from '../../index.js';
import type { Job, JobSpec, MapContext } from '../../index.js';
import { CallTimeoutError, InputError, MapOutputError } from '../../shared/errors.js';
import { partitionOf } from '../../worker/partition.js';
import { ItemFailure, mapItems, type MapItemsOptions } from '../../worker/map-task.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function job<I = unknown, V = unknown>(overrides: Partial<JobSpec<I, V, unknown>>): Job {
  return defineJob({
    name: 'test-job',
    input: z.unknown() as unknown as JobSpec<I, V, unknown>['input'],
    map: () => [],
    reduce: (_key: string, values: V[]) => values,
    ...overrides,
  } as JobSpec<I, V, unknown>) as Job;
}

function options(theJob: Job, items: unknown[], overrides: Partial<MapItemsOptions> = {}): MapItemsOptions {
  return {
    job: theJob,
    items,
    partitions: 4,
    callTimeoutMs: 5000,
    signal: new AbortController().signal,
    runId: 'run-1',
    taskId: 'c0',
    attempt: 1,
    logFor: () => silent,
    ...overrides,
  };
}

/** Every pair of the output, partition by partition. */
function allPairs(output: { partitions: Array<Array<[string, unknown]>> }): Array<[string, unknown]> {
  return output.partitions.flat();
}

/** Values per key, in the order mapItems put them out. */
function valuesByKey(output: { partitions: Array<Array<[string, unknown]>> }): Record<string, unknown[]> {
  const byKey: Record<string, unknown[]> = {};
  for (const [key, value] of allPairs(output)) (byKey[key] ??= []).push(value);
  return byKey;
}

async function failureOf(promise: Promise<unknown>): Promise<ItemFailure> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ItemFailure);
  return error as ItemFailure;
}

const words = job<string, number>({ input: z.string(), map: (line: string) => line.split(' ').map((word) => [word, 1] as const) });

describe('mapItems output forms', () => {
  it('takes an array of pairs', async () => {
    const output = await mapItems(options(words, ['a b', 'b']));
    expect(valuesByKey(output)).toEqual({ a: [1], b: [1, 1] });
    expect(output.emitted).toBe(3);
  });

  it('takes a Set or any other iterable of pairs', async () => {
    const fromSet = job({ map: () => new Set([['s', 1] as const, ['t', 2] as const]) });
    expect(valuesByKey(await mapItems(options(fromSet, [0])))).toEqual({ s: [1], t: [2] });
    const fromMap = job({ map: () => new Map([['m', 3]]) });
    expect(valuesByKey(await mapItems(options(fromMap, [0])))).toEqual({ m: [3] });
    const custom = job({
      map: () => ({
        *[Symbol.iterator]() {
          yield ['i', 4] as const;
        },
      }),
    });
    expect(valuesByKey(await mapItems(options(custom, [0])))).toEqual({ i: [4] });
  });

  it('takes a promise of pairs', async () => {
    const asyncMap = job({
      map: async (item: unknown) => {
        await sleep(1);
        return [[`k${String(item)}`, item] as const];
      },
    });
    expect(valuesByKey(await mapItems(options(asyncMap, [1, 2])))).toEqual({ k1: [1], k2: [2] });
  });

  it('takes a sync generator', async () => {
    const generator = job({
      *map(item: unknown) {
        yield ['g', item] as const;
        yield ['h', item] as const;
      },
    });
    expect(valuesByKey(await mapItems(options(generator, [1, 2])))).toEqual({ g: [1, 2], h: [1, 2] });
  });

  it('takes an async generator', async () => {
    const generator = job({
      async *map(item: unknown) {
        await sleep(1);
        yield ['g', item] as const;
        await sleep(1);
        yield ['h', item] as const;
      },
    });
    const output = await mapItems(options(generator, [1, 2]));
    expect(valuesByKey(output)).toEqual({ g: [1, 2], h: [1, 2] });
    expect(output.emitted).toBe(4);
  });

  it('accepts a map that emits nothing', async () => {
    const output = await mapItems(options(job({ map: () => [] }), [1, 2, 3]));
    expect(output).toEqual({ partitions: [[], [], [], []], emitted: 0 });
  });

  it('gives one empty list per partition for no items', async () => {
    const output = await mapItems(options(words, [], { partitions: 3 }));
    expect(output).toEqual({ partitions: [[], [], []], emitted: 0 });
  });

  it('refuses a map that returns something other than pairs, with a MapOutputError', async () => {
    for (const returned of [42, null, undefined, { a: 1 }]) {
      const failure = await failureOf(mapItems(options(job({ map: () => returned as never }), ['x'])));
      expect(failure.cause).toBeInstanceOf(MapOutputError);
      expect(failure.message).toContain('it must return an array or iterable of [key, value] pairs');
    }
  });
});

describe('mapItems combining and partitioning', () => {
  it('folds the values of each key with combine', async () => {
    const counted = job<string, number>({
      input: z.string(),
      map: (line: string) => line.split(' ').map((word) => [word, 1] as const),
      combine: (a: number, b: number) => a + b,
    });
    const output = await mapItems(options(counted, ['a b a', 'b a c']));
    expect(valuesByKey(output)).toEqual({ a: [3], b: [2], c: [1] });
    expect(output.emitted).toBe(6);
  });

  it('combines across items, in item order', async () => {
    const joined = job<number, string>({
      map: (item: number) => [['k', String(item)] as const],
      combine: (a: string, b: string) => `${a}${b}`,
    });
    expect(valuesByKey(await mapItems(options(joined, [1, 2, 3, 4])))).toEqual({ k: ['1234'] });
  });

  it('puts each key in partition partitionOf(key, partitions), and every key once', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i}-é😀`);
    const each = job({ map: (item: unknown) => [[item as string, 1] as const] });
    const output = await mapItems(options(each, keys, { partitions: 5 }));
    expect(output.partitions).toHaveLength(5);
    output.partitions.forEach((pairs, partition) => {
      for (const [key] of pairs) expect(partitionOf(key, 5)).toBe(partition);
    });
    expect(
      allPairs(output)
        .map(([key]) => key)
        .sort(),
    ).toEqual([...keys].sort());
    expect(output.partitions.filter((pairs) => pairs.length > 0).length).toBeGreaterThan(1);
  });

  it('keeps all values of a key together, in the order items emitted them, without combine', async () => {
    const tagged = job({ map: (item: unknown) => [['k', item] as const, [`own-${String(item)}`, item] as const] });
    const output = await mapItems(options(tagged, [0, 1, 2, 3, 4], { partitions: 1 }));
    expect(valuesByKey(output).k).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a value produced by combine that JSON cannot store, naming the key', async () => {
    const broken = job<number, number>({ map: (item: number) => [['k', item] as const], combine: () => NaN });
    const promise = mapItems(options(broken, [1, 2]));
    await expect(promise).rejects.toBeInstanceOf(MapOutputError);
    await expect(promise).rejects.toThrow(/job "test-job": combine returned a value for key "k" that cannot be stored: value is NaN/);
  });
});

describe('mapItems refusing bad output', () => {
  it('refuses a key that is not a string, naming the job, the key and the input item', async () => {
    const numericKey = job({ map: () => [[42, 'v']] as never });
    const failure = await failureOf(mapItems(options(numericKey, ['first', { id: 'second-item' }])));
    expect(failure.index).toBe(0);
    expect(failure.cause).toBeInstanceOf(MapOutputError);
    expect(failure.message).toContain('job "test-job"');
    expect(failure.message).toContain('a key that is not a string (number 42)');
    expect(failure.message).toContain('"first"');
  });

  it('reports the failing item by its index in the task', async () => {
    const failsOnSecond = job({ map: (item: unknown) => (item === 'bad' ? [[null, 1]] : [['ok', 1]]) as never });
    const failure = await failureOf(mapItems(options(failsOnSecond, ['good', 'bad', 'good'])));
    expect(failure.index).toBe(1);
    expect(failure.message).toContain('"bad"');
    expect(failure.message).toContain('null');
  });

  it.each([
    ['a single string', 'key'],
    ['a one-element array', ['key']],
    ['a three-element array', ['key', 1, 2]],
    ['an object', { key: 'k', value: 1 }],
  ])('refuses %s instead of a [key, value] pair, naming the job and the input item', async (_, pair) => {
    const notAPair = job({ map: () => [pair] as never });
    const failure = await failureOf(mapItems(options(notAPair, [{ line: 7 }])));
    expect(failure.cause).toBeInstanceOf(MapOutputError);
    expect(failure.message).toContain('job "test-job"');
    expect(failure.message).toContain('expected a [key, value] pair');
    expect(failure.message).toContain('{"line":7}');
  });

  it.each([
    ['undefined', undefined, 'value is undefined'],
    ['NaN', NaN, 'value is NaN'],
    ['a Date', new Date(0), 'value is a Date'],
    ['a nested Map', { m: new Map() }, 'value.m is a Map'],
    ['a BigInt', 5n, 'value is a BigInt'],
  ])('refuses %s as a value, naming the job, the key and the input item', async (_, value, problem) => {
    const badValue = job({ map: () => [['the-key', value]] as never });
    const failure = await failureOf(mapItems(options(badValue, ['the-item'])));
    expect(failure.cause).toBeInstanceOf(MapOutputError);
    expect(failure.message).toContain('job "test-job"');
    expect(failure.message).toContain('key "the-key"');
    expect(failure.message).toContain('"the-item"');
    expect(failure.message).toContain(problem);
  });

  it('refuses a value that refers to itself with a MapOutputError, not a stack overflow', async () => {
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;
    const circular = job({ map: () => [['loop-key', looped]] as never });
    const failure = await failureOf(mapItems(options(circular, ['the-item'])));
    expect(failure.cause).toBeInstanceOf(MapOutputError);
    expect(failure.message).toContain('key "loop-key"');
  });

  it('refuses a bad pair from an async generator too', async () => {
    const generator = job({
      async *map() {
        yield ['ok', 1];
        yield [1, 1];
      },
    } as never);
    const failure = await failureOf(mapItems(options(generator, ['x'])));
    expect(failure.cause).toBeInstanceOf(MapOutputError);
  });
});

describe('mapItems input and failures', () => {
  it("passes the schema's output to map", async () => {
    const seen: unknown[] = [];
    const upper = job({
      input: z.string().transform((text) => text.toUpperCase()),
      map: (item: unknown) => {
        seen.push(item);
        return [];
      },
    });
    await mapItems(options(upper, ['a', 'b']));
    expect(seen).toEqual(['A', 'B']);
  });

  it("throws an ItemFailure with the item's index when the job's schema rejects it, without calling map", async () => {
    let calls = 0;
    const numbers = job({
      input: z.number(),
      map: () => {
        calls++;
        return [];
      },
    });
    const failure = await failureOf(mapItems(options(numbers, ['not a number'])));
    expect(failure.index).toBe(0);
    expect(failure.cause).toBeInstanceOf(InputError);
    expect(failure.message).toContain('"not a number"');
    expect(calls).toBe(0);
  });

  it('names the index of a rejected item that is not the first', async () => {
    const numbers = job({ input: z.number(), map: () => [] });
    const failure = await failureOf(mapItems(options(numbers, [1, 2, 'three', 4])));
    expect(failure.index).toBe(2);
    expect((failure.cause as InputError).index).toBe(2);
  });

  it('wraps an error thrown by map, keeping it as the cause', async () => {
    const boom = new Error('boom');
    const throwing = job({
      map: () => {
        throw boom;
      },
    });
    const failure = await failureOf(mapItems(options(throwing, ['a', 'b'])));
    expect(failure.index).toBe(0);
    expect(failure.cause).toBe(boom);
    expect(failure.message).toBe('boom');
  });

  it('wraps a rejection of an async map, and a throw inside a generator', async () => {
    const rejecting = job({
      map: async () => {
        throw new Error('async boom');
      },
    });
    expect((await failureOf(mapItems(options(rejecting, [1])))).message).toBe('async boom');
    const generator = job({
      *map() {
        yield ['a', 1] as const;
        throw new Error('generator boom');
      },
    });
    expect((await failureOf(mapItems(options(generator, [1])))).message).toBe('generator boom');
  });

  it("names a single-item task by the task's own id", async () => {
    const seen: string[] = [];
    await mapItems(options(job({ map: (_item: unknown, ctx: MapContext) => (seen.push(ctx.taskId), []) }), ['only']));
    expect(seen).toEqual(['c0']);
  });

  it('asks for a call logger only when the map uses ctx.log, once per call', async () => {
    const asked: number[] = [];
    const logFor = (index: number) => (asked.push(index), silent);
    await mapItems(options(job({ map: () => [] }), [1, 2], { logFor }));
    expect(asked).toEqual([]);
    const logging = job({
      map: (_item: unknown, ctx: MapContext) => {
        ctx.log.info({}, 'one');
        ctx.log.info({}, 'two');
        return [];
      },
    });
    await mapItems(options(logging, [1, 2], { logFor }));
    expect(asked).toEqual([0, 1]);
  });

  it("leaves no listener on the task's signal once its calls are over, whether or not they read ctx.signal", async () => {
    const task = new AbortController();
    const readsSignal = job({ map: async (_item: unknown, ctx: MapContext) => (ctx.signal.throwIfAborted(), await sleep(1), []) });
    await mapItems(options(readsSignal, [1, 2, 3], { signal: task.signal }));
    await mapItems(options(job({ map: async () => [] }), [1, 2, 3], { signal: task.signal }));
    expect(getEventListeners(task.signal, 'abort')).toHaveLength(0);
  });

  it('a synchronous map that reads ctx.signal after its call timeout sees it aborted with a CallTimeoutError', async () => {
    let reason: unknown;
    const blocking = job({
      map: (_item: unknown, ctx: MapContext) => {
        const until = Date.now() + 40;
        while (Date.now() < until); // blocks the thread past the timeout
        reason = ctx.signal.reason;
        return [];
      },
    });
    await mapItems(options(blocking, [1], { callTimeoutMs: 20 }));
    expect(reason).toBeInstanceOf(CallTimeoutError);
  });

  it('gives each call a context for its own item', async () => {
    const contexts: Array<[number, string]> = [];
    const recording = job({
      map: (_item: unknown, ctx: MapContext) => {
        contexts.push([Number(ctx.taskId.split('.')[1]), ctx.runId]);
        expect(ctx.signal.aborted).toBe(false);
        return [];
      },
    });
    await mapItems(options(recording, ['a', 'b', 'c']));
    expect(contexts).toEqual([
      [0, 'run-1'],
      [1, 'run-1'],
      [2, 'run-1'],
    ]);
  });

  it('takes a slot from the gate for each call and releases it after the call', async () => {
    const events: string[] = [];
    const gated = job({
      map: (item: unknown) => {
        events.push(`map ${String(item)}`);
        return [];
      },
    });
    const gate = async (): Promise<() => void> => {
      events.push('acquire');
      return () => events.push('release');
    };
    await mapItems(options(gated, [1, 2], { gate }));
    expect(events).toEqual(['acquire', 'map 1', 'release', 'acquire', 'map 2', 'release']);
  });

  it('releases the gate slot when the call fails', async () => {
    let released = 0;
    const throwing = job({
      map: () => {
        throw new Error('x');
      },
    });
    await failureOf(mapItems(options(throwing, [1], { gate: async () => () => released++ })));
    expect(released).toBe(1);
  });

  it('gives the gate slot back when no place to run the call can be had (a cancel, an isolate that failed to load)', async () => {
    let released = 0;
    const invoke = {
      acquire: () => Promise.reject(new Error('the isolate thread exited (code 1)')),
    };
    await failureOf(mapItems(options(words, ['a b'], { gate: async () => () => released++, invoke })));
    expect(released).toBe(1);
  });
});

describe('mapItems timeouts and cancellation', () => {
  it('aborts ctx.signal and rejects with a CallTimeoutError when a call runs past its call timeout', async () => {
    let seenSignal: AbortSignal | undefined;
    const hanging = job({
      map: (_item: unknown, ctx: MapContext) => {
        seenSignal = ctx.signal;
        return new Promise<never>(() => {});
      },
    });
    const started = Date.now();
    const failure = await failureOf(mapItems(options(hanging, ['slow-item'], { callTimeoutMs: 30 })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(failure.index).toBe(0);
    expect(failure.cause).toBeInstanceOf(CallTimeoutError);
    expect(failure.message).toContain('"slow-item"');
    expect(failure.message).toContain('call timeout of 30ms');
    expect(seenSignal?.aborted).toBe(true);
    expect(seenSignal?.reason).toBeInstanceOf(CallTimeoutError);
  });

  it('times out a call that is still emitting from an async generator', async () => {
    const endless = job({
      async *map(_item: unknown, ctx: MapContext) {
        while (!ctx.signal.aborted) {
          yield ['tick', 1] as const;
          await sleep(5);
        }
      },
    });
    const failure = await failureOf(mapItems(options(endless, [1], { callTimeoutMs: 30 })));
    expect(failure.cause).toBeInstanceOf(CallTimeoutError);
  });

  it('gives each call its own timeout, so quick calls in a row do not add up to one', async () => {
    const quick = job({
      map: async (item: unknown) => {
        await sleep(30);
        return [['k', item] as const];
      },
    });
    // 4 calls of 30ms take longer than 100ms together, but each stays well inside it.
    const output = await mapItems(options(quick, [1, 2, 3, 4], { callTimeoutMs: 100 }));
    expect(valuesByKey(output)).toEqual({ k: [1, 2, 3, 4] });
  });

  it('stops the call when the task signal aborts, with the abort reason', async () => {
    const controller = new AbortController();
    let seenSignal: AbortSignal | undefined;
    const hanging = job({
      map: (_item: unknown, ctx: MapContext) => {
        seenSignal = ctx.signal;
        return new Promise<never>(() => {});
      },
    });
    const reason = new Error('run cancelled');
    setTimeout(() => controller.abort(reason), 10);
    const failure = await failureOf(mapItems(options(hanging, [1, 2], { signal: controller.signal })));
    expect(failure.index).toBe(0);
    expect(failure.cause).toBe(reason);
    expect(seenSignal?.aborted).toBe(true);
    expect(seenSignal?.reason).toBe(reason);
  });

  it('does not call map when the task signal is already aborted', async () => {
    let calls = 0;
    const counting = job({
      map: () => {
        calls++;
        return [];
      },
    });
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const failure = await failureOf(mapItems(options(counting, [1], { signal: controller.signal })));
    expect(failure.message).toBe('shutting down');
    expect(calls).toBe(0);
  });
});

describe('mapItems with itemConcurrency above 1', () => {
  /** Later items finish first, and each value records the item it came from. */
  const slowFirst = (itemConcurrency: number, log: Array<{ index: number; start: number; end: number }>): Job =>
    job<number, string>({
      itemConcurrency,
      map: async (index: number) => {
        const start = performance.now();
        await sleep(5 + (6 - index) * 4);
        log.push({ index, start, end: performance.now() });
        return [
          ['shared', `item-${index}-a`],
          [`mod-${index % 2}`, `item-${index}`],
          ['shared', `item-${index}-b`],
        ] as const;
      },
    });

  it('runs items at the same time', async () => {
    const log: Array<{ index: number; start: number; end: number }> = [];
    await mapItems(options(slowFirst(3, log), [0, 1, 2, 3, 4, 5]));
    const overlapping = log.some((a) => log.some((b) => a !== b && a.start < b.end && b.start < a.end));
    expect(overlapping).toBe(true);
    expect(log.map((entry) => entry.index)).not.toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('runs no more items at once than itemConcurrency', async () => {
    let running = 0;
    let most = 0;
    const tracked = job({
      itemConcurrency: 2,
      map: async () => {
        running++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
        return [];
      },
    });
    await mapItems(options(tracked, [1, 2, 3, 4, 5, 6]));
    expect(most).toBe(2);
  });

  it('puts out the values of each key in the same order as one item at a time', async () => {
    const items = [0, 1, 2, 3, 4, 5];
    const sequential = await mapItems(options(slowFirst(1, []), items));
    const concurrent = await mapItems(options(slowFirst(4, []), items));
    expect(valuesByKey(concurrent)).toEqual(valuesByKey(sequential));
    expect(concurrent.partitions).toEqual(sequential.partitions);
    expect(valuesByKey(concurrent).shared).toEqual(items.flatMap((index) => [`item-${index}-a`, `item-${index}-b`]));
    expect(concurrent.emitted).toBe(18);
  });

  it('starts no further item once one has failed and mapItems has rejected', async () => {
    let started = 0;
    const failing = job({
      itemConcurrency: 2,
      map: async (item: unknown) => {
        started++;
        await sleep(5);
        if (item === 0) throw new Error('first item fails');
        return [];
      },
    });
    await failureOf(mapItems(options(failing, [0, 1, 2, 3, 4, 5, 6, 7])));
    const startedWhenRejected = started;
    await sleep(60);
    expect(started).toBe(startedWhenRejected);
  });

  it('reports the failing item by its index when items run at the same time', async () => {
    const failing = job({
      itemConcurrency: 3,
      map: async (item: unknown) => {
        await sleep(2);
        if (item === 'bad') throw new Error('bad item');
        return [];
      },
    });
    const failure = await failureOf(mapItems(options(failing, ['ok', 'ok', 'bad', 'ok'])));
    expect(failure.index).toBe(2);
  });
});
