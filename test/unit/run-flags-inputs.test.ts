import { describe, expect, it } from 'vitest';
import type { ParsedArgs } from '../../cli/args.js';
import { argumentInputCount, inputSourceFromFlags } from '../../cli/commands/run-flags.js';
import { UsageError } from '../../shared/errors.js';
import { openSource } from '../../producer/input-chunks.js';

function flags(values: ParsedArgs['values']): ParsedArgs {
  return { values, positionals: [] };
}

describe('the input flags of run and submit', () => {
  it('count the inputs given as arguments for the default number of workers, but not a pattern, which stands for many files', () => {
    expect(argumentInputCount(flags({}), ['a', 'b'])).toBe(2);
    expect(argumentInputCount(flags({}), ['a', 'logs/*.log'])).toBeUndefined();
    expect(argumentInputCount(flags({ 'no-glob': true }), ['a', 'logs/*.log'])).toBe(2);
    expect(argumentInputCount(flags({ 'input-file': ['ids.txt'] }), ['a'])).toBeUndefined();
  });

  it('take --no-glob to pass a pattern through as an item, and refuse an unmatched one without it', async () => {
    const items: unknown[] = [];
    for await (const item of openSource(inputSourceFromFlags(flags({ 'no-glob': true }), ['no/such/*.log']))) items.push(item);
    expect(items).toEqual(['no/such/*.log']);
    expect(() => inputSourceFromFlags(flags({}), ['no/such/*.log'])).toThrow(UsageError);
  });

  it('take csv as an --input-format, and name the formats when given another', () => {
    expect(() => inputSourceFromFlags(flags({ 'input-format': 'csv' }), ['-'])).not.toThrow();
    expect(() => inputSourceFromFlags(flags({ 'input-format': 'xml' }), ['a'])).toThrow('expected one of lines, jsonl, csv');
  });
});
