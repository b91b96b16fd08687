import { describe, expect, it } from 'vitest';
import { fnv1a32, partitionOf } from '../../worker/partition.js';
import { ASCII, EMOJI, LATIN_1, LONE_SURROGATES, WELL_FORMED_RANGES, randomStrings } from './random-strings.js';

/** FNV-1a 32-bit over the bytes Node writes for the string: the definition other languages implement. */
function referenceFnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Keys whose hash differs from the reference, shown with both hashes. */
function mismatches(keys: string[]): string[] {
  return keys
    .filter((key) => fnv1a32(key) !== referenceFnv1a32(key))
    .map((key) => `${JSON.stringify(key)}: ${fnv1a32(key)} != ${referenceFnv1a32(key)}`);
}

describe('fnv1a32', () => {
  it('gives the published FNV-1a 32-bit values for "", "a" and "foobar"', () => {
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('returns an unsigned 32-bit integer', () => {
    const hashes = randomStrings(1, 200, WELL_FORMED_RANGES).map(fnv1a32);
    expect(hashes.filter((hash) => !Number.isInteger(hash) || hash < 0 || hash >= 2 ** 32)).toEqual([]);
  });

  it('hashes the UTF-8 bytes of 1-, 2-, 3- and 4-byte characters', () => {
    for (const key of ['\u007f', '\u0080', 'é', '\u07ff', '\u0800', '日本語', '\uffff', '\u{10000}', '😀', '\u{10ffff}', 'a😀b']) {
      expect(fnv1a32(key), JSON.stringify(key)).toBe(referenceFnv1a32(key));
    }
  });

  it('matches FNV-1a over Buffer.from(key, "utf8") for random ASCII, Latin-1, CJK, high-BMP and astral strings', () => {
    expect(mismatches(randomStrings(2, 2000, WELL_FORMED_RANGES))).toEqual([]);
  });

  it('matches the reference for random strings of emoji (surrogate pairs)', () => {
    expect(mismatches(randomStrings(3, 500, [ASCII, EMOJI]))).toEqual([]);
  });

  it('hashes a lone surrogate at the end or a lone low surrogate as U+FFFD, like Buffer.from', () => {
    for (const key of ['\ud800', 'a\udbff', '\udc00', 'x\udfffy', 'pair cut \ud83d']) {
      expect(fnv1a32(key), JSON.stringify(key)).toBe(referenceFnv1a32(key));
      expect(fnv1a32(key)).toBe(fnv1a32(key.replace(/[\ud800-\udfff]/g, '\ufffd')));
    }
  });

  it('hashes a high surrogate followed by something other than a low surrogate as U+FFFD, like Buffer.from', () => {
    for (const key of ['\ud800a', '\ud83d!', '\ud800\ud800', '\udbff\ud83d\ude00', 'k\ud800 ']) {
      expect(fnv1a32(key), JSON.stringify(key)).toBe(referenceFnv1a32(key));
    }
  });

  it('matches the reference for random strings that include lone surrogates', () => {
    expect(mismatches(randomStrings(4, 1000, [ASCII, LATIN_1, EMOJI, LONE_SURROGATES])).slice(0, 5)).toEqual([]);
  });
});

describe('partitionOf', () => {
  it('is fnv1a32(key) modulo the number of partitions', () => {
    const wrong: string[] = [];
    for (const key of randomStrings(5, 300, WELL_FORMED_RANGES)) {
      for (const partitions of [1, 2, 7, 8, 4096]) {
        if (partitionOf(key, partitions) !== referenceFnv1a32(key) % partitions) wrong.push(`${JSON.stringify(key)} / ${partitions}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('always returns a whole partition number from 0 to partitions - 1', () => {
    const keys = randomStrings(6, 500, WELL_FORMED_RANGES);
    for (const partitions of [1, 2, 3, 8, 13, 4096]) {
      const outside = keys.map((key) => partitionOf(key, partitions)).filter((p) => !Number.isInteger(p) || p < 0 || p >= partitions);
      expect(outside, `${partitions} partitions`).toEqual([]);
    }
  });

  it('puts every key in partition 0 when there is one partition', () => {
    for (const key of ['', 'a', 'zzz', '😀']) expect(partitionOf(key, 1)).toBe(0);
  });

  it('spreads many keys over every partition', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 4000; i++) counts[partitionOf(`key-${i}`, 8)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(300);
  });

  it('sends the same key to the same partition every time', () => {
    expect(partitionOf('hello', 8)).toBe(partitionOf('hello', 8));
    expect(partitionOf('foobar', 8)).toBe(0xbf9cf968 % 8);
  });
});
