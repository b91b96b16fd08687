// How durations, rates and counts read, for people: one plain module that the command line
// imports and the dashboard's server hands to the page as /formats.mjs (types: formats.d.mts).

const RATE_UNITS = { s: 1000, m: 60_000, h: 3_600_000 };

export function formatDuration(ms) {
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

export function formatRate(rate) {
  const unit = Object.entries(RATE_UNITS).find(([, ms]) => ms === rate.periodMs)?.[0];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodMs}ms`;
}

export function formatCount(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value >= 10 ? String(Math.round(value)) : value.toFixed(value % 1 === 0 ? 0 : 1);
}
