/**
 * Command line parsing on node:util parseArgs, with help text generated from the same
 * option specs, so `--help` never drifts from what is accepted.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { formatIssues, numberSchema, wholeNumberSchema } from '../shared/data/validation.js';
import { ENVIRONMENT_VARIABLES } from '../shared/config.js';
import { UsageError } from '../shared/errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder for the value in help, e.g. "N" or "URL". */
  value?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  examples: string[];
  /** Whether the command reads the Redis environment variables. */
  usesRedis: boolean;
  notes?: string[];
}

export const REDIS_OPTIONS: Record<string, OptionSpec> = {
  redis: {
    type: 'string',
    value: 'URL',
    description: 'Redis URL without a password (default: REDIS_URL, else 127.0.0.1:6379, else a private redis-server)',
  },
  'redis-ca': { type: 'string', value: 'FILE', description: 'CA bundle to verify a rediss:// server with' },
  prefix: { type: 'string', value: 'NAME', description: 'key prefix shared by producers and workers (default: redmap)' },
};

export const LOG_OPTIONS: Record<string, OptionSpec> = {
  'log-level': { type: 'string', value: 'LEVEL', description: 'debug, info, warn or error (default: info)' },
  'log-format': { type: 'string', value: 'FORMAT', description: 'pretty or json (default: pretty on a terminal, json otherwise)' },
};

const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h', description: 'show this help' } };

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const options = { ...spec.options, ...HELP_OPTION };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [
          name,
          { type: option.type, ...(option.short && { short: option.short }), ...(option.multiple && { multiple: true }) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${message} (see: redmap ${spec.name} --help)`);
  }
}

export function renderHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, ''];
  const rows = Object.entries({ ...spec.options, ...HELP_OPTION }).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '    ';
    const value = option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${value}`, option.description] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  lines.push('Options:', ...rows.map(([left, right]) => left.padEnd(width) + right), '');
  if (spec.notes?.length) lines.push(...spec.notes, '');
  lines.push('Examples:', ...spec.examples.map((example) => `  ${example}`), '');
  if (spec.usesRedis) {
    lines.push('Environment:');
    const names = Object.keys(ENVIRONMENT_VARIABLES);
    const envWidth = Math.max(...names.map((name) => name.length)) + 4;
    for (const [name, description] of Object.entries(ENVIRONMENT_VARIABLES)) lines.push(`  ${name.padEnd(envWidth)}${description}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** A string flag's value, or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A flag checked by an option's own schema, so its bounds are written once: the text is read
 * as a whole number (`int`), a number or as it is (`text`, for durations, rates and the like),
 * then parsed. The message names the flag, says what the schema expects and what was given.
 */
export function optionFlag<S extends z.ZodType>(
  args: ParsedArgs,
  name: string,
  read: 'int' | 'number' | 'text',
  schema: S,
): z.output<S> | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  let value: unknown = text;
  if (read === 'int') {
    value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new UsageError(`--${name}: expected a whole number, got ${JSON.stringify(text)}`);
    }
  } else if (read === 'number') {
    value = text.trim() === '' ? Number.NaN : Number(text);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UsageError(`--${name}: ${formatIssues(parsed.error.issues)}, got ${read === 'int' ? String(value) : JSON.stringify(text)}`);
}

/** A whole-number flag, checked against a range; the message names the flag. */
export function intFlag(args: ParsedArgs, name: string, range: { min: number; max?: number }): number | undefined {
  return optionFlag(args, name, 'int', wholeNumberSchema(range));
}

/** A decimal flag between bounds. */
export function numberFlag(args: ParsedArgs, name: string, range: { min: number; max: number }): number | undefined {
  return optionFlag(args, name, 'number', numberSchema(range));
}

/** A flag whose value must be one of `choices`. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

/** Exactly `count` positionals, named in the message when missing. */
export function requirePositionals(spec: CommandSpec, args: ParsedArgs, names: string[]): string[] {
  if (args.positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(args.positionals.length).join(' and ')} (usage: ${spec.usage})`);
  }
  return args.positionals.slice(0, names.length);
}
