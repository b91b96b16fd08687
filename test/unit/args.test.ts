import { describe, expect, it } from 'vitest';
import {
  choiceFlag,
  intFlag,
  LOG_OPTIONS,
  numberFlag,
  parseCommandArgs,
  REDIS_OPTIONS,
  renderHelp,
  requirePositionals,
  stringFlag,
  type CommandSpec,
  type ParsedArgs,
} from '../../cli/args.js';
import { ENVIRONMENT_VARIABLES } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'Does a demo.',
  usage: 'redmap demo JOB [options]',
  options: {
    workers: { type: 'string', short: 'w', value: 'N', description: 'worker processes' },
    ratio: { type: 'string', description: 'a fraction' },
    format: { type: 'string', value: 'FORMAT', description: 'jsonl, csv or table' },
    tag: { type: 'string', multiple: true, value: 'TAG', description: 'a repeatable tag' },
    local: { type: 'boolean', description: 'run here' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap demo job.ts --workers 2', 'redmap demo job.ts --local'],
  usesRedis: true,
  notes: ['A note about the demo.'],
};

function usageErrorFrom(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

const args = (values: ParsedArgs['values'], positionals: string[] = []): ParsedArgs => ({ values, positionals });

describe('parseCommandArgs', () => {
  it('reads flags, short flags, booleans, repeated flags and positionals', () => {
    const parsed = parseCommandArgs(spec, ['job.ts', 'in1', '-w', '3', '--local', '--tag', 'a', '--tag=b', '--format=csv', 'in2']);
    expect(parsed.positionals).toEqual(['job.ts', 'in1', 'in2']);
    expect(parsed.values).toMatchObject({ workers: '3', local: true, tag: ['a', 'b'], format: 'csv' });
  });

  it('accepts --help and -h', () => {
    expect(parseCommandArgs(spec, ['--help']).values.help).toBe(true);
    expect(parseCommandArgs(spec, ['-h']).values.help).toBe(true);
  });

  it('takes everything after -- as positionals', () => {
    expect(parseCommandArgs(spec, ['job.ts', '--', '--local', '-']).positionals).toEqual(['job.ts', '--local', '-']);
  });

  it('keeps "-" as a positional (standard input)', () => {
    expect(parseCommandArgs(spec, ['job.ts', '-']).positionals).toEqual(['job.ts', '-']);
  });

  it('refuses an unknown flag with a UsageError that names it and points to --help', () => {
    const error = usageErrorFrom(() => parseCommandArgs(spec, ['job.ts', '--wrokers', '2']));
    expect(error.message).toContain('--wrokers');
    expect(error.message).toContain('redmap demo --help');
  });

  it('refuses an unknown short flag, naming it', () => {
    expect(usageErrorFrom(() => parseCommandArgs(spec, ['-x'])).message).toContain('-x');
  });

  it('refuses a string flag without its value, naming the flag', () => {
    const error = usageErrorFrom(() => parseCommandArgs(spec, ['--workers']));
    expect(error.message).toContain('--workers');
    expect(error.message).toContain('redmap demo --help');
  });

  it('refuses a value given to a boolean flag', () => {
    expect(usageErrorFrom(() => parseCommandArgs(spec, ['--local=yes'])).message).toContain('--local');
  });

  it('does not suggest node-specific syntax in its messages', () => {
    expect(usageErrorFrom(() => parseCommandArgs(spec, ['--nope'])).message).not.toContain('To specify a positional argument');
  });
});

describe('intFlag', () => {
  it('reads a whole number within the range, or undefined when the flag is absent', () => {
    expect(intFlag(args({ workers: '4' }), 'workers', { min: 1, max: 8 })).toBe(4);
    expect(intFlag(args({ workers: ' 8 ' }), 'workers', { min: 1, max: 8 })).toBe(8);
    expect(intFlag(args({}), 'workers', { min: 1 })).toBeUndefined();
  });

  it.each(['abc', '1.5', '', '2x', '1e3', '0x10', '99999999999999999999'])('refuses %j, naming the flag and the value', (text) => {
    const error = usageErrorFrom(() => intFlag(args({ workers: text }), 'workers', { min: 1 }));
    expect(error.message).toBe(`--workers: expected a whole number, got ${JSON.stringify(text)}`);
  });

  it('refuses a number outside the range, naming the flag, the range and the value', () => {
    expect(usageErrorFrom(() => intFlag(args({ workers: '0' }), 'workers', { min: 1, max: 8 })).message).toBe(
      '--workers: expected a whole number between 1 and 8, got 0',
    );
    expect(usageErrorFrom(() => intFlag(args({ workers: '9' }), 'workers', { min: 1, max: 8 })).message).toContain('got 9');
    expect(usageErrorFrom(() => intFlag(args({ workers: '-1' }), 'workers', { min: 0 })).message).toBe(
      '--workers: expected a whole number at least 0, got -1',
    );
  });
});

describe('numberFlag', () => {
  it('reads a decimal within the range', () => {
    expect(numberFlag(args({ ratio: '0.25' }), 'ratio', { min: 0, max: 1 })).toBe(0.25);
    expect(numberFlag(args({ ratio: '1' }), 'ratio', { min: 0, max: 1 })).toBe(1);
    expect(numberFlag(args({}), 'ratio', { min: 0, max: 1 })).toBeUndefined();
  });

  it.each(['abc', '', ' ', '1.5', '-0.1', 'Infinity', 'NaN'])('refuses %j, naming the flag, the range and the value', (text) => {
    expect(usageErrorFrom(() => numberFlag(args({ ratio: text }), 'ratio', { min: 0, max: 1 })).message).toBe(
      `--ratio: expected a number between 0 and 1, got ${JSON.stringify(text)}`,
    );
  });
});

describe('choiceFlag', () => {
  it('reads one of the choices', () => {
    expect(choiceFlag(args({ format: 'csv' }), 'format', ['jsonl', 'csv', 'table'])).toBe('csv');
    expect(choiceFlag(args({}), 'format', ['jsonl'])).toBeUndefined();
  });

  it('refuses another value, naming the flag, the choices and the value', () => {
    expect(usageErrorFrom(() => choiceFlag(args({ format: 'xml' }), 'format', ['jsonl', 'csv', 'table'])).message).toBe(
      '--format: expected one of jsonl, csv, table, got "xml"',
    );
    expect(usageErrorFrom(() => choiceFlag(args({ format: 'CSV' }), 'format', ['csv'])).message).toContain('"CSV"');
  });
});

describe('stringFlag', () => {
  it('gives the string value, or undefined for a boolean, a list or a missing flag', () => {
    expect(stringFlag(args({ a: 'x', b: true, c: ['y'] }), 'a')).toBe('x');
    expect(stringFlag(args({ a: 'x', b: true, c: ['y'] }), 'b')).toBeUndefined();
    expect(stringFlag(args({ a: 'x', b: true, c: ['y'] }), 'c')).toBeUndefined();
    expect(stringFlag(args({}), 'd')).toBeUndefined();
  });
});

describe('requirePositionals', () => {
  it('gives the positionals it needs', () => {
    expect(requirePositionals(spec, args({}, ['job.ts', 'extra']), ['JOB'])).toEqual(['job.ts']);
  });

  it('names what is missing and shows the usage', () => {
    const error = usageErrorFrom(() => requirePositionals(spec, args({}, []), ['JOB', 'RUN_ID']));
    expect(error.message).toBe('missing JOB and RUN_ID (usage: redmap demo JOB [options])');
    expect(usageErrorFrom(() => requirePositionals(spec, args({}, ['job.ts']), ['JOB', 'RUN_ID'])).message).toContain('missing RUN_ID');
  });
});

describe('renderHelp', () => {
  const help = renderHelp(spec);

  it('shows the usage, the summary, the notes and the examples', () => {
    expect(help.startsWith('Usage: redmap demo JOB [options]\n')).toBe(true);
    expect(help).toContain('Does a demo.');
    expect(help).toContain('A note about the demo.');
    for (const example of spec.examples) expect(help).toContain(`  ${example}`);
  });

  it('lists every option with its description, and --help', () => {
    for (const [name, option] of Object.entries(spec.options)) {
      const line = help.split('\n').find((text) => text.includes(`--${name}`) && text.includes(option.description));
      expect(line, name).toBeDefined();
    }
    expect(help).toMatch(/-h, --help\s+show this help/);
  });

  it('shows the short form and the value placeholder of an option', () => {
    expect(help).toMatch(/-w, --workers N\s+worker processes/);
    expect(help).toMatch(/--ratio VALUE\s+a fraction/);
    expect(help).toMatch(/--local\s+run here/);
  });

  it('lines the descriptions up in one column', () => {
    const optionLines = help
      .slice(help.indexOf('Options:'), help.indexOf('A note'))
      .split('\n')
      .filter((line) => line.startsWith('  '));
    const columns = new Set(optionLines.map((line) => line.search(/\S+(\s\S+)*$/)));
    expect(optionLines.length).toBe(Object.keys(spec.options).length + 1);
    expect(columns.size).toBe(1);
  });

  it('lists every environment variable when the command uses Redis', () => {
    expect(help).toContain('Environment:');
    for (const [name, description] of Object.entries(ENVIRONMENT_VARIABLES)) {
      expect(help).toMatch(new RegExp(`^  ${name}\\s+${description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });

  it('leaves the environment variables out when the command does not use Redis', () => {
    const offline = renderHelp({ ...spec, usesRedis: false, options: {} });
    expect(offline).not.toContain('Environment:');
    expect(offline).not.toContain('REDIS_URL');
  });
});
