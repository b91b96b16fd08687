import { describe, expect, it } from 'vitest';
import { parseLimitChange } from '../../cli/dashboard/dashboard-api.js';

describe("the dashboard's limits form", () => {
  it('sets, removes or keeps each limit', () => {
    expect(parseLimitChange({ concurrency: 4 })).toEqual({ concurrency: 4 });
    expect(parseLimitChange({ rate: '50/s' })).toEqual({ rate: { count: 50, periodMs: 1000 } });
    expect(parseLimitChange({ concurrency: 'none', rate: 'none' })).toEqual({ concurrency: null, rate: null });
  });

  it('refuses what is not a limit, naming what it expects', () => {
    expect(() => parseLimitChange({})).toThrow(/nothing to change/);
    expect(() => parseLimitChange({ concurrency: 0 })).toThrow(/a whole number or "none"/);
    expect(() => parseLimitChange({ concurrency: 2.5 })).toThrow(/a whole number or "none"/);
    expect(() => parseLimitChange({ rate: 'fast' })).toThrow(
      /rate: expected a rate such as 200\/s or 50\/m, above zero, or none, got "fast"/,
    );
    expect(() => parseLimitChange({ rate: '0/s' })).toThrow(/above zero/);
    expect(() => parseLimitChange({ concurrency: 2, extra: true })).toThrow(/expected/);
    expect(() => parseLimitChange('4')).toThrow(/expected/);
  });
});
