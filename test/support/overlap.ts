/**
 * The greatest number of calls running at once, measured from the calls' own start and end
 * times (not from the limiter's counters).
 */
export interface CallSpan {
  start: number;
  end: number;
}

export function greatestOverlap(calls: readonly CallSpan[], from = -Infinity, to = Infinity): number {
  // An end and a start at the same millisecond do not overlap: ends sort first.
  const events = calls
    .filter((call) => call.end > from && call.start < to)
    .flatMap((call) => [
      { at: call.start, delta: 1 },
      { at: call.end, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let greatest = 0;
  for (const event of events) {
    running += event.delta;
    greatest = Math.max(greatest, running);
  }
  return greatest;
}

/** The most calls started in any window of `windowMs` (windows start at each call). */
export function busiestWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let busiest = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    busiest = Math.max(busiest, last - first + 1);
  }
  return busiest;
}
