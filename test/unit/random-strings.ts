/**
 * Seeded random strings for property-style unit tests: the same seed gives the same
 * strings, so a failure can be replayed.
 */

/** mulberry32: a tiny seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inclusive code point ranges. */
export type CodeRange = readonly [number, number];

export const ASCII: CodeRange = [0x00, 0x7f];
export const LATIN_1: CodeRange = [0x80, 0xff];
export const CJK: CodeRange = [0x4e00, 0x9fff];
/** Private use and specials: sorts below astral characters in UTF-8 but above them in UTF-16. */
export const HIGH_BMP: CodeRange = [0xe000, 0xffff];
export const ASTRAL: CodeRange = [0x10000, 0x10ffff];
export const EMOJI: CodeRange = [0x1f300, 0x1faff];
export const LONE_SURROGATES: CodeRange = [0xd800, 0xdfff];

export const WELL_FORMED_RANGES: readonly CodeRange[] = [ASCII, LATIN_1, CJK, HIGH_BMP, ASTRAL, EMOJI];

/** A string of 0..maxLength characters, each from one of `ranges` chosen at random. */
export function randomString(random: () => number, ranges: readonly CodeRange[], maxLength = 12): string {
  const length = Math.floor(random() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[Math.floor(random() * ranges.length)]!;
    const code = low + Math.floor(random() * (high - low + 1));
    // Lone surrogates are code units, not code points: String.fromCodePoint would still accept them.
    text += code >= 0xd800 && code <= 0xdfff ? String.fromCharCode(code) : String.fromCodePoint(code);
  }
  return text;
}

/** `count` random strings, with some sharing prefixes so comparisons reach past the first character. */
export function randomStrings(seed: number, count: number, ranges: readonly CodeRange[], maxLength = 12): string[] {
  const random = seededRandom(seed);
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    const previous = strings[Math.floor(random() * strings.length)];
    const sharePrefix = previous !== undefined && random() < 0.3;
    // Cut by code points, so a prefix never ends inside a surrogate pair.
    const chars = previous === undefined ? [] : Array.from(previous);
    const prefix = sharePrefix ? chars.slice(0, Math.floor(random() * (chars.length + 1))).join('') : '';
    strings.push(prefix + randomString(random, ranges, maxLength));
  }
  return strings;
}
