/** Byte sizes as people write them: `64MiB`, `512KiB`, `1GiB`, or a plain number of bytes. */

/** Binary units only: "MB" means 10^6 to some and 2^20 to others, so it is refused rather than guessed. */
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export const BYTE_SIZE_HINT = 'a size such as 64MiB, 512KiB, 1GiB or a number of bytes';

/** Whole bytes for a size string (fractions round down), or undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = match[2] === '' ? 1 : BYTE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The shortest exact form: `64MiB`, `1.5GiB` when exact to a thousandth, else bytes. */
export function formatByteSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const value = bytes / BYTE_UNITS[unit.toLowerCase()]!;
    if (value >= 1 && Number.isInteger(value * 1000)) return `${value}${unit}`;
  }
  return `${bytes}`;
}
