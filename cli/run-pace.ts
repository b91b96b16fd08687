/**
 * How fast a run goes: items per second now (over the last few seconds of samples), on
 * average since it was created, and when it ends at the current pace. Pure, so the progress
 * bar, `status --watch` and the dashboard agree.
 */

const RATE_WINDOW_MS = 5000;

/** Items per second over a sliding window of (time, items done) samples. */
export class RateMeter {
  private readonly samples: Array<{ at: number; items: number }> = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  add(at: number, items: number): void {
    // A count that goes down (a run cleaned and submitted again under its id) starts afresh.
    if (items < (this.samples[this.samples.length - 1]?.items ?? 0)) this.samples.length = 0;
    this.samples.push({ at, items });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  /** Whether two samples some time apart are known, so the rate means something. */
  hasSpan(): boolean {
    return this.samples.length > 1 && this.samples[this.samples.length - 1]!.at > this.samples[0]!.at;
  }

  /** 0 until two samples some time apart are known. */
  perSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at === first.at) return 0;
    return ((last.items - first.items) * 1000) / (last.at - first.at);
  }
}

/** Items per second from `startedAt` to `endedAt`; 0 before any time has passed. */
export function averageRate(items: number, startedAt: number, endedAt: number): number {
  return endedAt > startedAt ? (items * 1000) / (endedAt - startedAt) : 0;
}

/** Milliseconds until `remaining` items are done at `perSecond`, or undefined when unknown. */
export function etaMs(remaining: number | undefined, perSecond: number): number | undefined {
  if (remaining === undefined || remaining <= 0 || perSecond <= 0) return undefined;
  return (remaining / perSecond) * 1000;
}
