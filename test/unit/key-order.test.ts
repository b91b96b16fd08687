import { describe, expect, it } from 'vitest';
import { compareTaskIds, compareUtf8, sortUtf8 } from '../../shared/data/key-order.js';
import { ASCII, ASTRAL, CJK, HIGH_BMP, LATIN_1, WELL_FORMED_RANGES, randomStrings } from './random-strings.js';

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('sortUtf8', () => {
  it('sorts like UTF-8 bytes, with and without characters from U+D800 up', () => {
    for (const ranges of [[ASCII, LATIN_1, CJK], WELL_FORMED_RANGES]) {
      const strings = randomStrings(7, 500, ranges, 5);
      expect(sortUtf8([...strings])).toEqual([...strings].sort(byteOrder));
    }
  });
});

describe('compareUtf8', () => {
  it('orders strings like their UTF-8 bytes for random pairs of ASCII, Latin-1, CJK, U+E000-U+FFFF and astral text', () => {
    const strings = randomStrings(10, 600, WELL_FORMED_RANGES, 6);
    const disagreements: string[] = [];
    for (let i = 0; i < strings.length; i++) {
      for (let j = i; j < Math.min(strings.length, i + 40); j++) {
        const pairs: Array<[string, string]> = [
          [strings[i]!, strings[j]!],
          [strings[j]!, strings[i]!],
        ];
        for (const [a, b] of pairs) {
          if (Math.sign(compareUtf8(a, b)) !== Math.sign(byteOrder(a, b)))
            disagreements.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('orders each single range like its UTF-8 bytes', () => {
    for (const [seed, range] of [ASCII, LATIN_1, CJK, HIGH_BMP, ASTRAL].entries()) {
      const strings = randomStrings(20 + seed, 300, [range], 4);
      const disagreements = strings
        .slice(1)
        .map((b, i) => [strings[i]!, b] as const)
        .filter(([a, b]) => Math.sign(compareUtf8(a, b)) !== Math.sign(byteOrder(a, b)));
      expect(disagreements).toEqual([]);
    }
  });

  it('puts astral characters after U+E000-U+FFFF, unlike JavaScript string order', () => {
    const astral = '😀';
    const privateUse = '\ue000';
    const replacement = '\ufffd';
    expect(astral < privateUse).toBe(true); // UTF-16 order, which results must not follow
    expect(compareUtf8(privateUse, astral)).toBeLessThan(0);
    expect(compareUtf8(replacement, astral)).toBeLessThan(0);
    expect(compareUtf8('\uffff', '\u{10000}')).toBeLessThan(0);
    expect(compareUtf8(astral, privateUse)).toBeGreaterThan(0);
  });

  it('puts a prefix before the longer string and returns 0 only for equal strings', () => {
    expect(compareUtf8('', 'a')).toBeLessThan(0);
    expect(compareUtf8('ab', 'abc')).toBeLessThan(0);
    expect(compareUtf8('abc', 'ab')).toBeGreaterThan(0);
    expect(compareUtf8('日本', '日本')).toBe(0);
    expect(compareUtf8('😀', '😀')).toBe(0);
    expect(compareUtf8('', '')).toBe(0);
  });

  it('sorts a list into the same order as sorting by UTF-8 bytes', () => {
    const strings = randomStrings(30, 2000, WELL_FORMED_RANGES, 8);
    const byBytes = [...strings].sort(byteOrder);
    expect([...strings].sort(compareUtf8)).toEqual(byBytes);
    expect([...strings].reverse().sort(compareUtf8)).toEqual(byBytes);
  });

  it('sorts upper case before lower case and digits before letters, as LC_ALL=C sort does', () => {
    expect(['b', 'a', 'B', '1', 'é', 'A'].sort(compareUtf8)).toEqual(['1', 'A', 'B', 'a', 'b', 'é']);
  });
});

describe('compareTaskIds', () => {
  it('orders chunk ids by number, not as text (c2 before c10)', () => {
    expect(compareTaskIds('c2', 'c10')).toBeLessThan(0);
    expect(compareTaskIds('c10', 'c2')).toBeGreaterThan(0);
    expect(['c10', 'c2', 'c1', 'c0', 'c100'].sort(compareTaskIds)).toEqual(['c0', 'c1', 'c2', 'c10', 'c100']);
  });

  it('puts a chunk before the items it was split into (c10 before c10.0 before c10.1)', () => {
    expect(compareTaskIds('c10', 'c10.0')).toBeLessThan(0);
    expect(compareTaskIds('c10.0', 'c10')).toBeGreaterThan(0);
    expect(compareTaskIds('c10.0', 'c10.1')).toBeLessThan(0);
  });

  it('orders split items by item number, not as text (c3.2 before c3.10)', () => {
    expect(compareTaskIds('c3.2', 'c3.10')).toBeLessThan(0);
  });

  it('puts every item of a chunk before the next chunk', () => {
    expect(compareTaskIds('c9.999', 'c10')).toBeLessThan(0);
    expect(compareTaskIds('c2.5', 'c10.0')).toBeLessThan(0);
  });

  it('sorts a mixed list into input order', () => {
    const ids = ['c10.1', 'c2', 'c10', 'c1.10', 'c10.0', 'c1.2', 'c0', 'c1'];
    expect([...ids].sort(compareTaskIds)).toEqual(['c0', 'c1', 'c1.2', 'c1.10', 'c2', 'c10', 'c10.0', 'c10.1']);
  });

  it('returns 0 for the same id', () => {
    expect(compareTaskIds('c7', 'c7')).toBe(0);
    expect(compareTaskIds('c7.3', 'c7.3')).toBe(0);
  });
});
