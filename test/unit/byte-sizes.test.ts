import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../cli/args.js';
import { runSpec } from '../../cli/commands/run.js';
import { submitOptionsFromFlags } from '../../cli/commands/run-flags.js';
import { formatByteSize, parseByteSize } from '../../shared/data/byte-sizes.js';
import { parseOption } from '../../shared/data/validation.js';
import { InvalidOptionError, UsageError } from '../../shared/errors.js';
import { SUBMIT_OPTION_FIELDS } from '../../shared/run/run-options.js';

describe('parseByteSize', () => {
  it.each([
    ['64MiB', 64 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['512KiB', 512 * 1024],
    ['2TiB', 2 * 1024 ** 4],
    ['65536', 65536],
    ['100B', 100],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['64mib', 64 * 1024 ** 2],
    [' 64 MiB ', 64 * 1024 ** 2],
  ])('reads %j as %i bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(['', 'abc', '-1', '64MB', '64M', '1GB', '1e6', 'MiB', '1.5.5KiB', '64 MiB s', '0x10'])('does not read %j as a size', (text) => {
    expect(parseByteSize(text)).toBeUndefined();
  });

  it('writes sizes in their shortest exact unit', () => {
    expect(formatByteSize(64 * 1024)).toBe('64KiB');
    expect(formatByteSize(64 * 1024 ** 2)).toBe('64MiB');
    expect(formatByteSize(1.5 * 1024 ** 3)).toBe('1.5GiB');
    expect(formatByteSize(1000)).toBe('1000');
  });
});

describe('the split option', () => {
  const flag = (value: string) => submitOptionsFromFlags(parseCommandArgs(runSpec, ['job.ts', 'a.log', `--split=${value}`])).split;

  it('takes 64MiB, 1GiB, 512KiB and plain bytes from the command line', () => {
    expect(flag('64MiB')).toBe(64 * 1024 ** 2);
    expect(flag('1GiB')).toBe(1024 ** 3);
    expect(flag('512KiB')).toBe(512 * 1024);
    expect(flag('1048576')).toBe(1024 ** 2);
  });

  it.each([
    ['0', 'zero'],
    ['-64MiB', 'negative'],
    ['lots', 'garbage'],
    ['64MB', 'a decimal unit, which it does not guess'],
    ['1KiB', 'below the 64 KiB floor'],
    ['65535', 'one byte below the floor'],
    ['', 'empty'],
  ])('refuses %j (%s), naming the flag, what it expects and what it got', (value) => {
    let thrown: unknown;
    try {
      flag(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(
      `--split: expected a size such as 64MiB, 512KiB, 1GiB or a number of bytes, at least 64KiB, got ${JSON.stringify(value)}`,
    );
  });

  it('is checked the same way when a library caller gives it, as bytes or text', () => {
    expect(parseOption('split', SUBMIT_OPTION_FIELDS.split, 65536)).toBe(65536);
    expect(parseOption('split', SUBMIT_OPTION_FIELDS.split, '64MiB')).toBe(64 * 1024 ** 2);
    for (const bad of [0, -1, 1.5, 1000, '0', 'garbage', null]) {
      expect(() => parseOption('split', SUBMIT_OPTION_FIELDS.split, bad), String(bad)).toThrow(InvalidOptionError);
    }
    expect(() => parseOption('split', SUBMIT_OPTION_FIELDS.split, '1KiB')).toThrow(
      /^split: expected a size .* at least 64KiB \(got "1KiB"\)$/,
    );
  });
});
