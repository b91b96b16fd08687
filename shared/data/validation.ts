import { z } from 'zod';
import { DURATION_HINT, formatDuration, parseDuration, parseRate, RATE_HINT, type Rate } from './durations.js';
import { InvalidOptionError } from '../errors.js';
import { BYTE_SIZE_HINT, formatByteSize, parseByteSize } from './byte-sizes.js';

/** "option: expected …, got …" for each zod issue, joined into one line. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws an InvalidOptionError naming `option` and what was given. */
export function parseOption<T extends z.ZodType>(option: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new InvalidOptionError(option, `${option}: ${formatIssues(parsed.error.issues)} (got ${show(value)})`);
}

/**
 * Parses each option of `values` with its field of `schema`, so that an error names the one
 * option that is wrong and the value given for it; options the schema does not know are left out.
 */
export function parseOptions<T extends z.ZodRawShape>(schema: z.ZodObject<T>, values: object): z.output<z.ZodObject<T>> {
  const given = values as Record<string, unknown>;
  const entries = Object.entries(schema.shape).map(([name, field]) => [name, parseOption(name, field as z.ZodType, given[name])]);
  return Object.fromEntries(entries) as z.output<z.ZodObject<T>>;
}

/** A value as a short string for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/**
 * Milliseconds, given as a number of ms or a string such as "30s", of at least `minMs`. One
 * message for every failure, saying the form and the floor: the API and the CLI flags show it.
 */
export function durationSchema(minMs = 0) {
  const floor = minMs > 1 ? `, at least ${formatDuration(minMs)}` : minMs === 1 ? ', above zero' : '';
  const expected = `expected ${DURATION_HINT}${floor}`;
  return z.union([z.number(), z.string()], { error: expected }).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined || !Number.isSafeInteger(ms) || ms < minMs) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return ms;
  });
}

/**
 * Bytes, given as a number or a string such as "64MiB", of at least `minBytes`. One message
 * for every failure, saying the form and the floor, as for durations.
 */
export function byteSizeSchema(minBytes: number) {
  const expected = `expected ${BYTE_SIZE_HINT}, at least ${formatByteSize(minBytes)}`;
  return z.union([z.number(), z.string()], { error: expected }).transform((value, ctx) => {
    const bytes = typeof value === 'number' ? value : parseByteSize(value);
    if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes < minBytes) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return bytes;
  });
}

/** A whole number within bounds; the message says the bounds. */
export function wholeNumberSchema(bounds: { min: number; max?: number }) {
  const range = bounds.max === undefined ? `at least ${bounds.min}` : `between ${bounds.min} and ${bounds.max}`;
  const expected = `expected a whole number ${range}`;
  const schema = z.number({ error: expected }).int(expected).min(bounds.min, expected);
  return bounds.max === undefined ? schema : schema.max(bounds.max, expected);
}

/** A number (not necessarily whole) between bounds. */
export function numberSchema(bounds: { min: number; max: number }) {
  const expected = `expected a number between ${bounds.min} and ${bounds.max}`;
  return z.number({ error: expected }).min(bounds.min, expected).max(bounds.max, expected);
}

/** A rate such as "200/s", with a count above zero. */
export const rateSchema = z.string().transform((value, ctx): Rate => {
  const rate = parseRate(value);
  if (rate === undefined || rate.count <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected ${RATE_HINT}, above zero` });
    return z.NEVER;
  }
  return rate;
});

export const positiveIntSchema = wholeNumberSchema({ min: 1 });
