/** Durations (`500ms`, `30s`, `2m`, `1h`, `7d`) and rates (`200/s`, `50/m`) as people write them. */

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const RATE_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

export const DURATION_HINT = 'a duration such as 500ms, 30s, 2m, 1h or 7d';
export const RATE_HINT = 'a rate such as 200/s or 50/m';

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = DURATION_UNITS_MS[match[2]!]!;
  return Math.round(Number(match[1]) * unit);
}

export interface Rate {
  /** Calls allowed per period. */
  count: number;
  periodMs: number;
}

/** A rate string as a count per period, or undefined when it is not one. */
export function parseRate(text: string): Rate | undefined {
  const match = /^(\d+(?:\.\d+)?)\/(s|m|h)$/.exec(text.trim());
  if (!match) return undefined;
  return { count: Number(match[1]), periodMs: RATE_UNITS_MS[match[2]!]! };
}

export { formatDuration, formatRate } from './formats.mjs';
