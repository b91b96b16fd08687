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

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const seconds = ms / 1000;
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  }
  // Round to whole seconds first, so 119.7s reads 2m00s, never 1m60s.
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatRate(rate: Rate): string {
  const unit = Object.entries(RATE_UNITS_MS).find(([, ms]) => ms === rate.periodMs)?.[0];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodMs}ms`;
}
