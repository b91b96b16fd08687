/**
 * Orders used to make results deterministic.
 *
 * Keys sort in UTF-8 byte order, the order of `LC_ALL=C sort`. That is code point order,
 * which differs from JavaScript's UTF-16 order only where one string has a surrogate (a
 * character above U+FFFF) and the other a unit in U+E000..U+FFFF at the first difference.
 * Strings without units from U+D800 up, nearly all keys, compare natively, which is many
 * times faster than comparing unit by unit in JavaScript on keys with long common prefixes.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  if (!HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) return a < b ? -1 : 1;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const HIGH_UNIT = /[\ud800-\uffff]/;

/** Whether `key` has a unit from U+D800 up; two keys without one compare natively in UTF-8 byte order. */
export function hasHighUnits(key: string): boolean {
  return HIGH_UNIT.test(key);
}

/** Sorts keys in place in UTF-8 byte order; without high units, Array#sort's own order is that order. */
export function sortUtf8(keys: string[]): string[] {
  return keys.some((key) => HIGH_UNIT.test(key)) ? keys.sort(compareUtf8) : keys.sort();
}

/** Remaps code units so that surrogates rank above U+E000..U+FFFF, as their code points do. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** Orders map task ids (`c12`, `c12.3`) by input position, so values reach `reduce` in input order. */
export function compareTaskIds(a: string, b: string): number {
  const [chunkA, itemA] = taskPosition(a);
  const [chunkB, itemB] = taskPosition(b);
  return chunkA - chunkB || itemA - itemB;
}

function taskPosition(taskId: string): [number, number] {
  const dot = taskId.indexOf('.');
  if (dot === -1) return [Number(taskId.slice(1)), -1];
  return [Number(taskId.slice(1, dot)), Number(taskId.slice(dot + 1))];
}
