/**
 * Orders used to make results deterministic.
 *
 * Keys sort in UTF-8 byte order, the order of `LC_ALL=C sort`. That is code point order,
 * which differs from JavaScript's UTF-16 order only for characters above U+FFFF, which
 * must sort after U+E000..U+FFFF: remapping code units fixes that without encoding.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

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
