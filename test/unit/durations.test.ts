import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, parseDuration, parseRate } from '../../shared/data/durations.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['0s', 0],
    ['1.5s', 1500],
    ['0.5m', 30_000],
  ])('reads %s as %i milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('ignores spaces around the duration', () => {
    expect(parseDuration(' 30s ')).toBe(30_000);
  });

  it('rounds fractions of a millisecond', () => {
    expect(parseDuration('1.4ms')).toBe(1);
    expect(parseDuration('0.0015s')).toBe(2);
  });

  it.each(['abc', '10', '5x', '-1s', '', ' ', 's', '1 s', '1S', '1e3ms', '.5s', '1.s', '1sec', '10s5', '1h30m', '+1s'])(
    'does not read %j as a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('parseRate', () => {
  it.each([
    ['200/s', { count: 200, periodMs: 1000 }],
    ['50/m', { count: 50, periodMs: 60_000 }],
    ['10/h', { count: 10, periodMs: 3_600_000 }],
    ['0.5/s', { count: 0.5, periodMs: 1000 }],
  ])('reads %s as a count per period', (text, rate) => {
    expect(parseRate(text)).toEqual(rate);
  });

  it.each(['abc', '10', '5x', '-1/s', '', '200', '200/', '/s', '200/d', '200/ms', '200 per s', '200/S'])(
    'does not read %j as a rate',
    (text) => {
      expect(parseRate(text)).toBeUndefined();
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [1500, '1.5s'],
    [12_000, '12s'],
    [59_000, '59s'],
    [60_000, '1m00s'],
    [61_000, '1m01s'],
    [125_000, '2m05s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [5_400_000, '1h30m'],
    [90_000_000, '25h00m'],
  ])('shows %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('never shows 60 seconds in a minutes-and-seconds duration (119.7s is 2m00s, not 1m60s)', () => {
    expect(formatDuration(119_700)).toBe('2m00s');
    expect(formatDuration(3_599_999)).not.toMatch(/m60s$/);
  });

  it('gives the same duration back through parseDuration for whole units', () => {
    expect(parseDuration(formatDuration(500))).toBe(500);
    expect(parseDuration(formatDuration(30_000))).toBe(30_000);
  });
});

describe('formatRate', () => {
  it('writes a rate back as it is written', () => {
    for (const text of ['200/s', '50/m', '3/h']) expect(formatRate(parseRate(text)!)).toBe(text);
  });

  it('shows an unusual period in milliseconds', () => {
    expect(formatRate({ count: 5, periodMs: 250 })).toBe('5/250ms');
  });
});
