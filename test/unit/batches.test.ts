import { describe, expect, it } from 'vitest';
import { BATCH_TARGET_SIZE, BatchEncoder, decodeBatch, encodeBatches } from '../../shared/data/batches.js';

function pairsOfSize(count: number, valueLength: number): Array<[string, unknown]> {
  return Array.from({ length: count }, (_, i) => [`key-${i}`, 'v'.repeat(valueLength)]);
}

describe('encodeBatches and decodeBatch', () => {
  it('give back exactly the pairs, in order, across several batches', () => {
    const pairs: Array<[string, unknown]> = [
      ['a', 1],
      ['b', null],
      ['c', { nested: [1, 'two', { three: true }] }],
      ['d', ''],
      ['é😀', 'ünïcødé \u2028 "quotes" \\ backslash'],
      ['', [[]]],
      ['a', -0.5],
    ];
    const batches = encodeBatches(pairs, 20);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((batch) => decodeBatch(batch, 'test'))).toEqual(pairs);
  });

  it('keep keys such as "__proto__", "constructor" and "hasOwnProperty", and objects holding them', () => {
    const pairs: Array<[string, unknown]> = [
      ['__proto__', 1],
      ['constructor', 2],
      ['hasOwnProperty', 3],
      ['prototype', JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}')],
    ];
    const decoded = encodeBatches(pairs).flatMap((batch) => decodeBatch(batch, 'test'));
    expect(decoded.map(([key]) => key)).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'prototype']);
    expect(decoded).toEqual(pairs);
    const value = decoded[3]![1] as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('give no batch for no pairs', () => {
    expect(encodeBatches([])).toEqual([]);
  });

  it('put everything in one batch when it is below the target size', () => {
    const batches = encodeBatches(pairsOfSize(100, 10));
    expect(batches).toHaveLength(1);
    expect(decodeBatch(batches[0]!, 'test')).toHaveLength(100);
  });

  it('keep each batch near the target size: at most one pair past it', () => {
    const target = 1000;
    const pairs = pairsOfSize(500, 37);
    const pairLength = JSON.stringify(pairs[0]).length + 1;
    const batches = encodeBatches(pairs, target);
    expect(batches.length).toBeGreaterThan(10);
    for (const batch of batches.slice(0, -1)) {
      expect(batch.length).toBeGreaterThanOrEqual(target - pairLength);
      expect(batch.length).toBeLessThanOrEqual(target + pairLength + 2);
    }
    expect(batches.at(-1)!.length).toBeLessThanOrEqual(target + pairLength + 2);
    expect(batches.flatMap((batch) => decodeBatch(batch, 'test'))).toEqual(pairs);
  });

  it('use a target of 256 KiB by default', () => {
    expect(BATCH_TARGET_SIZE).toBe(256 * 1024);
    const batches = encodeBatches(pairsOfSize(300, 2000));
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.length).toBeLessThan(BATCH_TARGET_SIZE + 2100);
  });

  it('put a pair larger than the target alone in its batch', () => {
    const big: [string, unknown] = ['big', 'x'.repeat(5000)];
    const batches = encodeBatches([['a', 1], big, ['b', 2]], 100);
    expect(batches.map((batch) => decodeBatch(batch, 'test'))).toEqual([[['a', 1], big], [['b', 2]]]);
  });

  it('makes each batch a JSON array', () => {
    for (const batch of encodeBatches(pairsOfSize(50, 5), 100)) expect(Array.isArray(JSON.parse(batch))).toBe(true);
  });
});

describe('BatchEncoder', () => {
  it('hands out full batches as they fill, and the rest at the end', () => {
    const encoder = new BatchEncoder(50);
    const drained: string[] = [];
    for (const pair of pairsOfSize(20, 10)) {
      encoder.add(pair);
      drained.push(...encoder.drain());
    }
    expect(drained.length).toBeGreaterThan(0);
    const rest = encoder.finish();
    expect([...drained, ...rest].flatMap((batch) => decodeBatch(batch, 'test'))).toEqual(pairsOfSize(20, 10));
    expect(encoder.drain()).toEqual([]);
  });

  it('gives the same batches as encodeBatches', () => {
    const encoder = new BatchEncoder(200);
    const pairs = pairsOfSize(40, 12);
    for (const pair of pairs) encoder.add(pair);
    expect(encoder.finish()).toEqual(encodeBatches(pairs, 200));
  });
});

describe('decodeBatch', () => {
  it('refuses JSON that is not an array, naming where it came from', () => {
    expect(() => decodeBatch('{"a":1}', 'run r1 partition 3')).toThrow(/corrupt batch in run r1 partition 3/);
  });

  it('throws on text that is not JSON', () => {
    expect(() => decodeBatch('[1,', 'x')).toThrow();
  });
});
