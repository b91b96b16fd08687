import { describe, expect, it } from 'vitest';
import { KeyGroups } from '../../shared/data/key-groups.js';

const sum = (a: unknown, b: unknown): unknown => (a as number) + (b as number);

describe('KeyGroups without combine', () => {
  it('keeps every value of a key in arrival order', () => {
    const groups = new KeyGroups(undefined);
    groups.add('a', 1);
    groups.add('b', 'x');
    groups.add('a', 2);
    groups.add('a', 3);
    expect([...groups.groups()]).toEqual([
      ['a', [1, 2, 3]],
      ['b', ['x']],
    ]);
    expect(groups.size).toBe(2);
  });

  it('keeps null, false, 0 and duplicate values', () => {
    const groups = new KeyGroups(undefined);
    for (const value of [null, false, 0, 0, '']) groups.add('k', value);
    expect(groups.take('k')).toEqual([null, false, 0, 0, '']);
  });

  it('lists pairs with all values of a key together', () => {
    const groups = new KeyGroups(undefined);
    groups.add('a', 1);
    groups.add('b', 2);
    groups.add('a', 3);
    expect([...groups.pairs()]).toEqual([
      ['a', 1],
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('removes a key when it is taken, and gives [] for an unknown key', () => {
    const groups = new KeyGroups(undefined);
    groups.add('a', 1);
    expect(groups.take('a')).toEqual([1]);
    expect(groups.size).toBe(0);
    expect([...groups.keys()]).toEqual([]);
    expect(groups.take('missing')).toEqual([]);
  });

  it('treats keys such as "__proto__" and "constructor" as ordinary keys', () => {
    const groups = new KeyGroups(undefined);
    groups.add('__proto__', 1);
    groups.add('constructor', 2);
    groups.add('__proto__', 3);
    expect(groups.take('__proto__')).toEqual([1, 3]);
    expect(groups.take('constructor')).toEqual([2]);
  });
});

describe('KeyGroups with combine', () => {
  it('folds the values of each key into one as they arrive', () => {
    const groups = new KeyGroups(sum);
    for (const [key, value] of [
      ['a', 1],
      ['b', 10],
      ['a', 2],
      ['a', 3],
    ] as const) {
      groups.add(key, value);
    }
    expect([...groups.groups()]).toEqual([
      ['a', [6]],
      ['b', [10]],
    ]);
    expect([...groups.pairs()]).toEqual([
      ['a', 6],
      ['b', 10],
    ]);
  });

  it('does not call combine for the first value of a key', () => {
    const calls: unknown[][] = [];
    const groups = new KeyGroups((a, b) => {
      calls.push([a, b]);
      return sum(a, b);
    });
    groups.add('a', 5);
    expect(calls).toEqual([]);
    groups.add('a', 7);
    expect(calls).toEqual([[5, 7]]);
  });

  it('combines with the earlier value first', () => {
    const groups = new KeyGroups((a, b) => `${String(a)}${String(b)}`);
    for (const value of ['x', 'y', 'z']) groups.add('k', value);
    expect(groups.take('k')).toEqual(['xyz']);
  });

  it('passes a stored null or 0 to combine instead of treating it as absent', () => {
    const groups = new KeyGroups((a, b) => [a, b]);
    groups.add('k', null);
    groups.add('k', 0);
    expect(groups.take('k')).toEqual([[null, 0]]);
  });

  it('returns one value when a key is taken, and removes it', () => {
    const groups = new KeyGroups(sum);
    groups.add('a', 1);
    groups.add('a', 1);
    expect(groups.size).toBe(1);
    expect(groups.take('a')).toEqual([2]);
    expect(groups.size).toBe(0);
  });
});
