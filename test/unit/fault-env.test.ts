import { describe, expect, it } from 'vitest';
import { wholeNumberFromEnv } from '../support/faults.js';

describe('the fault suites read their run count and seed strictly', () => {
  const runs = (text: string | undefined) =>
    wholeNumberFromEnv('REDMAP_FAULT_RUNS', { min: 1, fallback: 10 }, text === undefined ? {} : { REDMAP_FAULT_RUNS: text });

  it('takes a whole number, or the default when unset', () => {
    expect(runs(undefined)).toBe(10);
    expect(runs('1')).toBe(1);
    expect(runs(' 25 ')).toBe(25);
  });

  it.each(['0', '-3', 'ten', '', '2.5', '1e3'])('refuses %j, naming the variable and what it takes', (text) => {
    expect(() => runs(text)).toThrow(`REDMAP_FAULT_RUNS must be a whole number, 1 or more; it is ${JSON.stringify(text)}`);
  });
});
