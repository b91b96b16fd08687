import { describe, expect, it } from 'vitest';
import { averageRate, etaMs, RateMeter } from '../../cli/run-pace.js';

describe('how fast a run goes', () => {
  it('measures items per second over the last 5 s of samples, not since the start', () => {
    const meter = new RateMeter();
    expect(meter.perSecond()).toBe(0);
    expect(meter.hasSpan()).toBe(false);
    meter.add(0, 0);
    meter.add(10_000, 10); // slow at first: 1 item/s
    meter.add(11_000, 110);
    meter.add(16_000, 610); // then 100 items/s
    expect(meter.hasSpan()).toBe(true);
    expect(meter.perSecond()).toBeCloseTo(100, 5);
  });

  it('starts afresh when the count goes down (a run submitted again under its id)', () => {
    const meter = new RateMeter();
    meter.add(0, 500);
    meter.add(1000, 600);
    meter.add(2000, 10);
    expect(meter.hasSpan()).toBe(false);
    meter.add(3000, 30);
    expect(meter.perSecond()).toBe(20);
  });

  it('gives the average since creation, and the time left at the current pace', () => {
    expect(averageRate(300, 1000, 4000)).toBe(100);
    expect(averageRate(300, 1000, 1000)).toBe(0);
    expect(etaMs(500, 100)).toBe(5000);
    expect(etaMs(500, 0)).toBeUndefined();
    expect(etaMs(0, 100)).toBeUndefined();
    expect(etaMs(undefined, 100)).toBeUndefined();
  });
});
